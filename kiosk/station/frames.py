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
from typing import Any, Protocol

from kiosk import flow
from kiosk.errors import KioskError
from kiosk.flow import Event

log = logging.getLogger(__name__)


class Scanner(Protocol):
    """What the station needs of ``kiosk.scanner.Scanner``."""

    def feed(self, frame: Any, now: float) -> str | None:
        """The payload nearest the centre, debounced, or None."""


class Analyzer(Protocol):
    """What the station needs of ``kiosk.portrait.analysis.Analyzer``."""

    def analyse(self, frame_bgr: Any, now: float | None = None) -> Any:
        """The face analysis of one frame (``now``: monotonic seconds, for smoothing)."""


class AutoCapture(Protocol):
    """What the station needs of ``kiosk.portrait.autocapture.AutoCapture``."""

    def update(self, analysis: Any, frame: Any, now: float) -> Any:
        """The shot decision (``phase``, ``count``, ``hint_key``, ``frame``) after this frame."""


class FrameState:
    """The scanner, the analyzer and auto-capture as the current screen uses them.

    ``parts`` is the station's ``StationParts`` (read at each call, so a part
    replaced later is used from then on).
    """

    def __init__(self, parts: Any) -> None:
        self.parts = parts
        self._frames = threading.Lock()  # scanner, analyzer, auto-capture, latest frame
        self._autocapture: AutoCapture | None = None
        self._latest: tuple[Any, Any] | None = None  # (frame, analysis) last guided
        self._flags = threading.Lock()  # held for microseconds only: safe on the GUI thread
        self._reset_to: str | None = None  # "portrait", "scan" or "none": frame state to start afresh

    def request_reset(self, purpose: str) -> None:
        """Start the frame state afresh for ``purpose`` ("portrait", "scan", "none"); never waits."""
        with self._flags:
            self._reset_to = purpose
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
        if purpose is None:
            return
        self._latest = None
        self._autocapture = None
        # a new person, a retake or nobody: no smoothing or frames carried over from before
        reset = getattr(self.parts.analyzer, "reset", None)
        if callable(reset):
            reset()
        forget = getattr(self.parts.scanner, "forget", None)
        if callable(forget):
            forget()  # the debounce holds the last code's payload: the student's, and a new screen reads afresh
        if purpose == "portrait" and self.parts.make_autocapture is not None:
            self._autocapture = self.parts.make_autocapture()

    def analyse(self, capture: Any) -> Any:
        """The analyzer's view of ``capture`` (a tap-to-shoot or auto-capture still)."""
        with self._held():
            return self.parts.analyzer.analyse(capture)

    def shoot_now(self) -> tuple[Any, Any, str | None]:
        """The tap-to-shoot capture: auto-capture's sharpest recent frame, else the latest guided one."""
        with self._held():
            shoot_now = getattr(self._autocapture, "shoot_now", None)
            if callable(shoot_now):
                shot = shoot_now()
                if getattr(shot, "frame", None) is not None:
                    return shot.frame, getattr(shot, "analysis", None), None
                return None, None, getattr(shot, "hint_key", None)
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
        with self._held():
            try:
                analysis = self.parts.analyzer.analyse(frame, now)
            except KioskError as exc:
                log.warning("portrait.analysis_failed key=%s", exc.key)
                return []
            self._latest = (frame, analysis)
            if self._autocapture is None and make is not None:
                self._autocapture = make()
            face = getattr(analysis, "face", None) is not None
            if self._autocapture is None:
                return [flow.Guidance("waiting", 0, _first_hint(analysis), face)]
            shot = self._autocapture.update(analysis, frame, now)
        progress = float(getattr(shot, "progress", 0.0) or 0.0)
        events: list[Event] = [flow.Guidance(shot.phase, int(shot.count or 0), shot.hint_key, face, progress)]
        if shot.phase == "shoot" and getattr(shot, "frame", None) is not None:
            events.append(flow.AutoShot(shot.frame, getattr(shot, "analysis", None)))
        return events


def _first_hint(analysis: Any) -> str | None:
    first = getattr(analysis, "first_hint", None)
    return first() if callable(first) else None
