"""The demo camera: a synthetic person (``kiosk.scene``) who can be moved and unplugged."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from kiosk.camera.base import CameraLost, CameraNotFound, Pacer
from kiosk.config import CameraSection
from kiosk.scene import Pose, Scene, natural_motion

log = logging.getLogger(__name__)


class DemoCamera:
    """A synthetic person in front of the station (see ``kiosk.scene``).

    The person stands still the way people do (a slight sway and breath);
    ``set_pose`` moves them, ``show_code`` makes them hold up a phone with a
    QR code, ``unplug``/``replug`` simulate the cable being pulled. Safe to
    drive from another thread while a grabber reads it.
    """

    name = "demo"

    def __init__(self, settings: CameraSection, scene: Scene | None = None, *, motion: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], object] = time.sleep) -> None:
        self.settings = settings
        self.scene = scene or Scene(settings.width, settings.height, settings.demo_background)
        self.motion = motion
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._pose = Pose()
        self._code: str | None = None
        self._plugged = True
        self._pacer: Pacer | None = None
        self._t0 = clock()

    @property
    def pose(self) -> Pose:
        """The person's current pose (without the natural motion)."""
        return self._pose

    @property
    def code(self) -> str | None:
        """The text of the QR code being held up, if any."""
        return self._code

    def set_pose(self, pose: Pose | None = None, **changes: Any) -> Pose:
        """Move the person: a whole ``Pose``, or fields of it (``dx=-0.2``, ``scale=0.7``)."""
        with self._lock:
            self._pose = replace(pose or self._pose, **changes)
            return self._pose

    def show_code(self, text: str | None) -> None:
        """Hold up a phone showing ``text`` as a QR code; None puts it away."""
        with self._lock:
            self._code = text

    def unplug(self) -> None:
        """Simulate pulling the cable: reads fail and the device will not open."""
        with self._lock:
            self._plugged = False
        log.info("camera.demo_unplugged")

    def replug(self) -> None:
        """Plug the cable back in."""
        with self._lock:
            self._plugged = True
        log.info("camera.demo_replugged")

    def open(self) -> None:
        """Start the stream; raises ``CameraNotFound`` while unplugged."""
        if not self._plugged:
            raise CameraNotFound("camera.not_found", "device=demo unplugged", device="demo")
        if self._pacer is None:
            self._pacer = Pacer(self.settings.fps, self._clock, self._sleep)

    def read(self) -> np.ndarray:
        """The next frame at the configured rate; raises ``CameraLost`` once unplugged."""
        if self._pacer is None or not self._plugged:
            raise CameraLost(detail="source=demo")
        self._pacer.wait()
        with self._lock:
            pose, code = self._pose, self._code
        t = self._clock() - self._t0
        return self.scene.render(natural_motion(pose, t, self.motion), code_text=code, t=t)

    def close(self) -> None:
        """Stop the stream."""
        self._pacer = None
