"""Frame sources behind one interface: USB cameras, files and the demo camera.

Every source has ``open()``, ``read() -> BGR ndarray``, ``close()`` and a
``name``; ``read`` raises ``CameraLost`` when the device is gone, and the
``Grabber`` (``kiosk.grabber``, re-exported here) turns that into a
``"disconnected"`` state and reconnects. ``open`` is idempotent, so a source
that ``open_source`` already opened can be handed straight to a grabber.

USB cameras are opened through V4L2 with MJPG, the configured size and rate
and a one-frame buffer: a deeper driver buffer is exactly the 1-2 s preview
lag photo-booth users complain about. The still is taken from this stream.
"""

from __future__ import annotations

import glob
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from kiosk.config import CameraSection
from kiosk.errors import KioskError
from kiosk.grabber import DISCONNECTED, OK, STARTING, STOPPED, Frame, Grabber
from kiosk.scene import Pose, Scene, natural_motion

log = logging.getLogger(__name__)

__all__ = [
    "DISCONNECTED", "OK", "STARTING", "STOPPED", "CameraError", "CameraLost", "CameraNotFound", "CameraReport",
    "DemoCamera", "FileSource", "Frame", "FrameSource", "Grabber", "UsbCamera", "open_source", "probe",
]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})

#: A factory with ``cv2.VideoCapture``'s signature; tests pass a fake.
CaptureFactory = Callable[..., Any]


class CameraError(KioskError):
    """A camera that cannot be used."""

    default_key = "camera.error"


class CameraLost(CameraError):
    """The device went away (unplugged) or stopped delivering frames."""

    default_key = "camera.lost"


class CameraNotFound(CameraError):
    """The configured device or file does not exist or will not open."""

    default_key = "camera.not_found"


@runtime_checkable
class FrameSource(Protocol):
    """Anything that yields BGR frames."""

    name: str

    def open(self) -> None:
        """Open the device (a no-op when open); raises ``CameraError``."""

    def read(self) -> np.ndarray:
        """The next frame, BGR uint8; raises ``CameraLost`` when the device is gone."""
        ...

    def close(self) -> None:
        """Release the device (a no-op when closed)."""


class _Pacer:
    """Blocks so that successive calls come at most ``fps`` times a second."""

    def __init__(self, fps: float, clock: Callable[[], float], sleep: Callable[[float], object]) -> None:
        self.period = 1.0 / max(fps, 0.1)
        self.clock, self.sleep = clock, sleep
        self.next: float | None = None

    def wait(self) -> None:
        now = self.clock()
        if self.next is not None and self.next > now:
            self.sleep(self.next - now)
            now = self.next
        # Never build up debt: a late frame does not make the next ones early.
        self.next = now + self.period


# ---------------------------------------------------------------------------
# USB / V4L2


def _device_of(source: str) -> int | str:
    """``"2"`` -> 2; a path stays a path."""
    text = source.strip()
    return int(text) if text.isdigit() else text


def _stable_path(device: int | str) -> str | None:
    """The ``/dev/v4l/by-id`` link for ``device``, which survives replugging; None if there is none.

    After an unplug the kernel may give the camera another ``/dev/videoN``;
    its by-id name stays the same, so reconnects go through it.
    """
    node = f"/dev/video{device}" if isinstance(device, int) else os.path.realpath(device)
    for link in sorted(glob.glob("/dev/v4l/by-id/*")):
        if os.path.realpath(link) == node:
            return link
    return None


class UsbCamera:
    """A V4L2 camera by index, ``/dev/videoN`` or ``/dev/v4l/by-id`` path."""

    #: V4L2's values of CAP_PROP_AUTO_EXPOSURE: 1 = manual, 3 = aperture priority (auto)
    MANUAL_EXPOSURE, AUTO_EXPOSURE = 1, 3
    #: reads that may fail in a row before the camera counts as lost
    MAX_FAILED_READS = 3

    def __init__(self, settings: CameraSection, device: int | str | None = None, *,
                 capture_factory: CaptureFactory = cv2.VideoCapture) -> None:
        self.settings = settings
        self.device: int | str = _device_of(settings.source) if device is None else device
        self._factory = capture_factory
        self._cap: Any = None
        self._reopen_as: int | str | None = None
        self.name = f"usb:{self.device}"
        self.actual: tuple[int, int, float] = (0, 0, 0.0)

    def open(self) -> None:
        """Open and configure the device; raises ``CameraNotFound`` when it will not open."""
        if self._cap is not None:
            return
        device = self._reopen_as if self._reopen_as is not None else self.device
        if isinstance(device, str) and not os.path.exists(device):
            raise CameraNotFound("camera.not_found", f"device={device}", device=str(device))
        cap = self._factory(device, cv2.CAP_V4L2)
        if not cap.isOpened():
            cap.release()
            raise CameraNotFound("camera.open_failed", f"device={device}", device=str(device))
        self._configure(cap)
        self._cap = cap
        if self._reopen_as is None:
            self._reopen_as = _stable_path(device)
        log.info("camera.opened source=%s width=%d height=%d fps=%.1f", self.name, *self.actual)

    def _configure(self, cap: Any) -> None:
        """Ask for MJPG, size, rate, a one-frame buffer and the manual controls."""
        s = self.settings
        # The format must be set before the size: some drivers only offer HD in MJPG.
        if s.mjpg:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, s.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, s.height)
        cap.set(cv2.CAP_PROP_FPS, s.fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        if s.exposure >= 0:
            cap.set(cv2.CAP_PROP_AUTO_EXPOSURE, self.MANUAL_EXPOSURE)
            cap.set(cv2.CAP_PROP_EXPOSURE, s.exposure)
        else:
            cap.set(cv2.CAP_PROP_AUTO_EXPOSURE, self.AUTO_EXPOSURE)
        if s.white_balance >= 0:
            cap.set(cv2.CAP_PROP_AUTO_WB, 0)
            cap.set(cv2.CAP_PROP_WB_TEMPERATURE, s.white_balance)
        else:
            cap.set(cv2.CAP_PROP_AUTO_WB, 1)
        self.actual = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                       float(cap.get(cv2.CAP_PROP_FPS)))
        if self.actual[:2] != (s.width, s.height):
            log.warning("camera.size_differs source=%s asked=%dx%d got=%dx%d", self.name, s.width, s.height,
                        *self.actual[:2])

    def read(self) -> np.ndarray:
        """The next frame; raises ``CameraLost`` after a few failed reads or when unplugged."""
        if self._cap is None:
            raise CameraLost(detail=f"source={self.name} not open")
        for _ in range(self.MAX_FAILED_READS):
            ok, frame = self._cap.read()
            if ok and frame is not None and frame.size:
                return np.asarray(frame)
        raise CameraLost(detail=f"source={self.name} reads failed")

    def close(self) -> None:
        """Release the device."""
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()


def usb_candidates() -> list[int | str]:
    """Capture devices worth trying for "auto", stable names first."""
    by_id = sorted(p for p in glob.glob("/dev/v4l/by-id/*") if p.endswith("-video-index0"))
    seen = {os.path.realpath(p) for p in by_id}
    nodes = sorted(glob.glob("/dev/video*"), key=lambda p: (len(p), p))
    return [*by_id, *(n for n in nodes if os.path.realpath(n) not in seen)]


# ---------------------------------------------------------------------------
# Files


class FileSource:
    """A video file (looped) or an image (repeated), paced at ``fps``."""

    def __init__(self, path: str | Path, fps: float | None = None, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], object] = time.sleep) -> None:
        self.path = Path(path)
        self.name = f"file:{self.path.name}"
        self._fps = fps
        self._clock, self._sleep = clock, sleep
        self._image: np.ndarray | None = None
        self._cap: Any = None
        self._pacer: _Pacer | None = None
        self.is_video = self.path.suffix.lower() not in IMAGE_SUFFIXES

    def open(self) -> None:
        """Load the image or open the video; raises ``CameraNotFound`` if it is missing or unreadable."""
        if self._pacer is not None:
            return
        if not self.path.is_file():
            raise CameraNotFound("camera.file_missing", f"file={self.path.name}", path=str(self.path))
        fps = self._fps
        if self.is_video:
            cap = cv2.VideoCapture(str(self.path))
            ok, _first = cap.read() if cap.isOpened() else (False, None)
            if not ok:
                cap.release()
                raise CameraNotFound("camera.file_unreadable", f"file={self.path.name}", path=str(self.path))
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self._cap = cap
            fps = fps or float(cap.get(cv2.CAP_PROP_FPS)) or 30.0
        else:
            image = cv2.imread(str(self.path), cv2.IMREAD_COLOR)
            if image is None:
                raise CameraNotFound("camera.file_unreadable", f"file={self.path.name}", path=str(self.path))
            self._image = image
            fps = fps or 30.0
        self._pacer = _Pacer(fps, self._clock, self._sleep)

    def read(self) -> np.ndarray:
        """The next frame, at the file's pace; a video starts again at its end."""
        if self._pacer is None:
            raise CameraLost(detail=f"source={self.name} not open")
        self._pacer.wait()
        if self._image is not None:
            return self._image.copy()
        ok, frame = self._cap.read()
        if not ok:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._cap.read()
            if not ok:
                raise CameraLost(detail=f"source={self.name} video ended and will not rewind")
        return np.asarray(frame)

    def close(self) -> None:
        """Release the file."""
        if self._cap is not None:
            self._cap.release()
        self._cap, self._image, self._pacer = None, None, None


# ---------------------------------------------------------------------------
# The demo camera


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
        self._pacer: _Pacer | None = None
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
            self._pacer = _Pacer(self.settings.fps, self._clock, self._sleep)

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


# ---------------------------------------------------------------------------
# Choosing a source, and the self-test


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
        for device in candidates():
            usb = UsbCamera(settings, device, capture_factory=capture_factory)
            try:
                usb.open()
            except CameraError:
                continue
            return usb
        log.info("camera.auto_demo reason=no_usb_camera")
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
    except CameraError as exc:
        return CameraReport(opened=True, name=source.name, width=shape[1], height=shape[0], error_key=exc.key,
                            frames=frames)
    finally:
        source.close()
    fps = (frames - 1) / (last_t - first_t) if frames > 1 and last_t > first_t else 0.0
    return CameraReport(opened=True, name=source.name, width=shape[1], height=shape[0], fps_measured=fps,
                        frames=frames)
