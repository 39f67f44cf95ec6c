"""The station's camera frames: scanning codes, guiding the portrait, the shot for tap-to-shoot.

Helpers of ``kiosk.station``. Frames arrive from the UI's frame workers;
what the screen needs them for changes on the GUI thread (``StartCamera``,
``StopCamera``, ``WipeSession``), which only leaves a note here and never waits
for an analysis. The note is applied by whichever thread next finds the frame
state free: at once when no frame is being worked on, else by the worker as it
lets go. So a student's frames never outlive their session, even when no
further frame comes (the camera lost, a screen without frames).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from kiosk import flow
from kiosk.errors import KioskError
from kiosk.flow import Event
from kiosk.station.parts import AutoCapture, FrameAnalysis

if TYPE_CHECKING:
    from kiosk.station.parts import StationParts

log = logging.getLogger(__name__)


class FrameState:
    """The scanner, the analyzer and auto-capture as the current screen uses them.

    ``parts`` is the station's ``StationParts`` (read at each call, so a part
    replaced later is used from then on).
    """

    def __init__(self, parts: StationParts) -> None:
        self.parts = parts
        self._frames = threading.Lock()  # scanner, analyzer, auto-capture, latest frame
        self._autocapture: AutoCapture | None = None
        self._latest: tuple[Any, Any] | None = None  # (frame, analysis) last guided
        self._flags = threading.Lock()  # held for microseconds only: safe on the GUI thread
        self._reset_to: str | None = None  # "portrait", "scan" or "none": frame state to start afresh
        self._leave_next = False  # the headwear leave of the reset asked for
        self.allow_headwear = False  # the portrait being guided is under the staff's headwear leave

    def request_reset(self, purpose: str, *, allow_headwear: bool = False) -> None:
        """Start the frame state afresh for ``purpose`` ("portrait", "scan", "none"); never waits.

        ``allow_headwear``: a portrait under the staff's headwear leave; any
        other reset ends it.
        """
        with self._flags:
            self._reset_to = purpose
            self._leave_next = allow_headwear and purpose == "portrait"
        self._settle()

    @contextmanager
    def _held(self) -> Iterator[None]:
        try:
            with self._frames:
                self._apply_reset()
                yield
        finally:
            # a reset asked for while this thread held the frames is applied now, not at some later frame
            self._settle()

    def _settle(self) -> None:
        with self._flags:
            pending = self._reset_to is not None
        if pending and self._frames.acquire(blocking=False):
            try:
                self._apply_reset()
            finally:
                self._frames.release()

    def _apply_reset(self) -> None:
        """Start the frame state afresh if asked to; the caller holds ``_frames``."""
        with self._flags:
            purpose, self._reset_to = self._reset_to, None
            leave = self._leave_next
        if purpose is None:
            return
        self.allow_headwear = leave
        self._latest = None
        self._autocapture = None
        # a new person, a retake or nobody: no smoothing or frames carried over from before
        if self.parts.analyzer is not None:
            self.parts.analyzer.reset()
        if self.parts.scanner is not None:
            # the debounce holds the last code's payload: the student's, and a new screen reads afresh
            self.parts.scanner.forget()
        if purpose == "portrait" and self.parts.make_autocapture is not None:
            self._autocapture = self.parts.make_autocapture()

    def analyse(self, capture: Any) -> Any:
        """The analyzer's view of ``capture`` (a tap-to-shoot or auto-capture still)."""
        with self._held():
            if self.parts.analyzer is None:
                return None
            return self.parts.analyzer.analyse(capture, allow_headwear=self.allow_headwear)

    def shoot_now(self) -> tuple[Any, Any, str | None]:
        """The tap-to-shoot capture: auto-capture's sharpest recent frame, else the latest guided one."""
        with self._held():
            if self._autocapture is not None:
                shot = self._autocapture.shoot_now()
                if shot.frame is not None:
                    return shot.frame, shot.analysis, None
                return None, None, shot.hint_key
            if self._latest is None:
                return None, None, None
            return self._latest[0], self._latest[1], None

    def on_frame(self, purpose: str | None, frame: Any, now: float) -> list[Event]:
        """Events from one camera frame: ``CodeScanned`` when scanning, ``Guidance``/``AutoShot`` when guiding."""
        if purpose == "scan" and self.parts.scanner is not None:
            with self._held():
                payload = self.parts.scanner.feed(frame, now)
            return [] if payload is None else [flow.CodeScanned(payload)]
        if purpose == "portrait" and self.parts.analyzer is not None:
            return self._guide(frame, now)
        return []

    def _guide(self, frame: Any, now: float) -> list[Event]:
        make: Callable[[], AutoCapture] | None = self.parts.make_autocapture
        analyzer = self.parts.analyzer
        if analyzer is None:
            return []
        with self._held():
            try:
                analysis: FrameAnalysis = analyzer.analyse(frame, now, allow_headwear=self.allow_headwear)
            except KioskError as exc:
                log.warning("portrait.analysis_failed key=%s", exc.key)
                return []
            self._latest = (frame, analysis)
            if self._autocapture is None and make is not None:
                self._autocapture = make()
            face = analysis.face is not None
            if self._autocapture is None:
                return [flow.Guidance("waiting", 0, analysis.first_hint(), face)]
            shot = self._autocapture.update(analysis, frame, now)
        events: list[Event] = [flow.Guidance(shot.phase, int(shot.count or 0), shot.hint_key, face,
                                             float(shot.progress or 0.0))]
        if shot.phase == "shoot" and shot.frame is not None:
            events.append(flow.AutoShot(shot.frame, shot.analysis))
        return events
