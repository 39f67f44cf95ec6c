"""Frame sources behind one interface: USB cameras, files and the demo camera.

Every source has ``open()``, ``read() -> BGR ndarray``, ``close()`` and a
``name``; ``read`` raises ``CameraLost`` when the device is gone, and the
``Grabber`` (``kiosk.camera.grabber``, re-exported here) turns that into a
``"disconnected"`` state and reconnects. ``open`` is idempotent, so a source
that ``open_source`` already opened can be handed straight to a grabber.

Modules: ``base`` (the protocol, errors, pacing), ``usb`` (V4L2 cameras),
``files`` (videos and images), ``demo`` (the synthetic person); here, the
choice of a source from the config and the station self-test's probe. The
still for the photo is taken from the running stream, never a mode switch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2

from kiosk.camera.base import CameraError, CameraLost, CameraNotFound, FrameSource
from kiosk.camera.demo import DemoCamera
from kiosk.camera.files import FileSource
from kiosk.camera.grabber import DISCONNECTED, OK, STARTING, STOPPED, Frame, Grabber
from kiosk.camera.usb import CaptureFactory, UsbCamera, usb_candidates
from kiosk.config import CameraSection
from kiosk.scene import Scene

log = logging.getLogger(__name__)

__all__ = [
    "DISCONNECTED", "OK", "STARTING", "STOPPED", "CameraError", "CameraLost", "CameraNotFound", "CameraReport",
    "DemoCamera", "FileSource", "Frame", "FrameSource", "Grabber", "UsbCamera", "open_source", "probe",
    "usb_candidates",
]


def open_source(settings: CameraSection, *, capture_factory: CaptureFactory = cv2.VideoCapture,
                candidates: Callable[[], Sequence[int | str]] = usb_candidates,
                scene: Scene | None = None, clock: Callable[[], float] = time.monotonic,
                sleep: Callable[[float], object] = time.sleep) -> FrameSource:
    """The source ``settings.source`` names, opened.

    ``"auto"``: the first USB camera that opens, else the demo camera;
    ``"demo"``; a device index; ``/dev/videoN`` or a ``/dev/v4l/by-id`` path;
    a video or image file. A named device or file that is missing raises
    ``CameraNotFound`` (keys ``camera.not_found``, ``camera.open_failed``,
    ``camera.file_missing``, ``camera.file_unreadable``). ``clock`` and
    ``sleep`` pace the demo camera and files (tests pass fakes).
    """
    choice = settings.source.strip()
    source: FrameSource
    if choice == "auto":
        tried = list(candidates())
        for device in tried:
            usb = UsbCamera(settings, device, capture_factory=capture_factory)
            try:
                usb.open()
            except CameraError:
                continue
            return usb
        # A camera that is present but will not open (busy, no permission) is worth a warning.
        log.log(logging.WARNING if tried else logging.INFO, "camera.auto_demo tried=%d", len(tried))
        source = DemoCamera(settings, scene, clock=clock, sleep=sleep)
    elif choice == "demo":
        source = DemoCamera(settings, scene, clock=clock, sleep=sleep)
    elif choice.isdigit() or choice.startswith("/dev/"):
        source = UsbCamera(settings, capture_factory=capture_factory)
    elif choice:
        source = FileSource(choice, settings.fps, clock=clock, sleep=sleep)
    else:
        raise CameraNotFound("camera.not_found", "source is empty", device="")
    source.open()
    return source


@dataclass(frozen=True)
class CameraReport:
    """What the station's self-test learnt about the camera."""

    opened: bool
    name: str
    width: int = 0
    height: int = 0
    fps_measured: float = 0.0
    error_key: str = ""
    frames: int = 0

    @property
    def is_demo(self) -> bool:
        """Whether "auto" fell back to (or the config chose) the demo camera."""
        return self.name == "demo"


def probe(settings: CameraSection, seconds: float = 2.0, *, clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], object] = time.sleep, **open_kwargs: Any) -> CameraReport:
    """Open the configured source, read for ``seconds`` and report size and real frame rate.

    Never raises for a camera problem: the report's ``error_key`` says what went wrong.
    """
    try:
        source = open_source(settings, clock=clock, sleep=sleep, **open_kwargs)
    except CameraError as exc:
        return CameraReport(opened=False, name=settings.source, error_key=exc.key)
    frames, shape, first_t, last_t = 0, (0, 0), 0.0, 0.0
    try:
        start = clock()
        while True:
            image = source.read()
            now = clock()
            if frames == 0:
                first_t, shape = now, image.shape[:2]
            frames, last_t = frames + 1, now
            if now - start >= seconds:
                break
    except (CameraError, cv2.error, OSError) as exc:
        key = exc.key if isinstance(exc, CameraError) else CameraError.default_key
        return CameraReport(opened=True, name=source.name, width=shape[1], height=shape[0], error_key=key,
                            frames=frames)
    finally:
        source.close()
    fps = (frames - 1) / (last_t - first_t) if frames > 1 and last_t > first_t else 0.0
    return CameraReport(opened=True, name=source.name, width=shape[1], height=shape[0], fps_measured=fps,
                        frames=frames)
