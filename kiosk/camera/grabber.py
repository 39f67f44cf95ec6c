"""The grabber: one thread reading a camera into a single latest-frame slot.

Photo-booth software lags because frames queue up behind a slow consumer.
Here the camera thread overwrites one slot; every consumer (preview, scanner,
face analysis) takes the newest frame when it is free, so a slow consumer
lowers its own rate and never adds latency to anyone else's. The still for
the photo is the newest frame of this same stream, never a resolution switch.

When the source fails (``CameraLost``, a failed read, a device that will not
open) the grabber reports ``"disconnected"``, closes the source and reopens it
with capped exponential back-off until frames flow again, then reports
``"ok"``. Consumers only see the state change; the session goes on.

States: ``"starting"`` (no frame yet), ``"ok"``, ``"disconnected"``, ``"stopped"``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from kiosk.errors import KioskError

if TYPE_CHECKING:
    from kiosk.camera import FrameSource

log = logging.getLogger(__name__)

STARTING, OK, DISCONNECTED, STOPPED = "starting", "ok", "disconnected", "stopped"

#: What a source may raise when it is gone or broken; anything else is a bug and is logged as one.
SOURCE_FAILURES = (KioskError, cv2.error, OSError, RuntimeError, ValueError)

StateListener = Callable[[str], None]


#: how much longer a stop waits for a read still in the camera driver, after its own timeout
_STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class Frame:
    """One capture: the BGR image, its sequence number (from 1) and monotonic time."""

    image: np.ndarray
    seq: int
    t: float


class Grabber:
    """Reads ``source`` on its own thread, keeping only the newest frame.

    ``clock`` gives frame times (monotonic seconds); ``sleep`` waits between
    reconnect attempts (by default an interruptible wait that ``stop()`` cuts
    short). Both are injectable for tests.
    """

    def __init__(self, source: FrameSource, reconnect_max_s: float = 5.0, *,
                 reconnect_min_s: float = 0.1, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] | None = None) -> None:
        self.source = source
        self.reconnect_min_s = min(reconnect_min_s, reconnect_max_s)
        self.reconnect_max_s = reconnect_max_s
        self._clock = clock
        self._stop = threading.Event()
        self._sleep = sleep if sleep is not None else self._stop.wait
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._seq = 0
        self._state = STARTING
        self._listeners: list[StateListener] = []
        self._thread: threading.Thread | None = None
        self._fps = 0.0
        self.reconnects = 0

    # -- consumers ------------------------------------------------------------

    @property
    def state(self) -> str:
        """``"starting"``, ``"ok"``, ``"disconnected"`` or ``"stopped"``."""
        return self._state

    @property
    def fps(self) -> float:
        """Frames per second the source delivers (smoothed; 0 before two frames)."""
        return self._fps

    def latest(self) -> Frame | None:
        """The newest frame, or None before the first one."""
        with self._cond:
            return self._frame

    def wait_newer(self, seq: int, timeout: float) -> Frame | None:
        """The newest frame once its ``seq`` is above ``seq``; None on timeout or stop."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._frame is None or self._frame.seq <= seq:
                left = deadline - time.monotonic()
                if left <= 0 or self._state == STOPPED:
                    return None
                self._cond.wait(left)
            return self._frame

    def add_listener(self, listener: StateListener) -> None:
        """Call ``listener(state)`` on every state change (from the grabber thread)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: StateListener) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    # -- life cycle -----------------------------------------------------------

    def start(self) -> Grabber:
        """Start the thread (opening the source there); returns self."""
        if self._thread is not None:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="camera-grabber", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 3.0) -> None:
        """End the thread, close the source, wake every waiting consumer."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                # a read still in the driver (a slow first frame on a loaded machine): closing the source
                # under it, or leaving the interpreter with it inside C++, aborts the process
                log.warning("camera.stop_slow source=%s", self.source.name)
                thread.join(_STOP_GRACE_S)
                if thread.is_alive():
                    log.error("camera.stop_timeout source=%s", self.source.name)
        self._set_state(STOPPED)

    def __enter__(self) -> Grabber:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the thread -----------------------------------------------------------

    def _run(self) -> None:
        backoff = self.reconnect_min_s
        is_open = self._open()
        while not self._stop.is_set():
            if not is_open:
                self._set_state(DISCONNECTED)
                self._sleep(backoff)
                if self._stop.is_set():
                    break
                backoff = min(backoff * 2, self.reconnect_max_s)
                is_open = self._open()
                continue
            try:
                image = self.source.read()
            except SOURCE_FAILURES as exc:
                log.warning("camera.lost source=%s error=%s", self.source.name, type(exc).__name__)
                image = None
            if self._stop.is_set():
                break
            if image is None or getattr(image, "size", 0) == 0:
                self._close()
                is_open = False
                backoff = self.reconnect_min_s
                self._set_state(DISCONNECTED)
                continue
            self._publish(image)
            backoff = self.reconnect_min_s
        self._close()

    def _open(self) -> bool:
        try:
            self.source.open()
        except SOURCE_FAILURES as exc:
            log.info("camera.open_failed source=%s error=%s", self.source.name, type(exc).__name__)
            return False
        if self._state == DISCONNECTED:
            self.reconnects += 1
        return True

    def _close(self) -> None:
        try:
            self.source.close()
        except SOURCE_FAILURES as exc:
            log.warning("camera.close_failed source=%s error=%s", self.source.name, type(exc).__name__)

    def _publish(self, image: np.ndarray) -> None:
        now = self._clock()
        with self._cond:
            previous = self._frame
            self._seq += 1
            self._frame = Frame(image=image, seq=self._seq, t=now)
            self._cond.notify_all()
        if previous is not None and now > previous.t:
            rate = 1.0 / (now - previous.t)
            self._fps = rate if self._fps == 0 else 0.9 * self._fps + 0.1 * rate
        if self._state != OK:
            self._set_state(OK)

    def _set_state(self, state: str) -> None:
        with self._cond:
            if state == self._state:
                return
            previous, self._state = self._state, state
            self._cond.notify_all()
        log.info("camera.state source=%s from=%s to=%s", self.source.name, previous, state)
        for listener in list(self._listeners):
            try:
                listener(state)
            except Exception:  # a faulty listener must not stop the camera
                log.exception("camera.listener_failed")
