"""USB cameras through V4L2: MJPG, size, rate, a one-frame buffer, manual controls.

A deeper driver buffer is exactly the 1-2 s preview lag photo-booth users
complain about, so the buffer is one frame; MJPG is what lets a USB 2 camera
deliver HD at 30 fps.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from kiosk.camera.base import CameraLost, CameraNotFound
from kiosk.config import CameraSection

log = logging.getLogger(__name__)

#: A factory with ``cv2.VideoCapture``'s signature; tests pass a fake.
CaptureFactory = Callable[..., Any]


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


def _fourcc_text(value: float) -> str:
    """The four characters of a FOURCC code read back from the driver ("" when unknown)."""
    code = int(value)
    text = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return text if code and text.isprintable() else ""


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
        # udev names (/dev/kiosk-camera, /dev/v4l/by-id/...) are symlinks: open the node they point at now.
        cap = self._factory(os.path.realpath(device) if isinstance(device, str) else device, cv2.CAP_V4L2)
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
        fourcc = _fourcc_text(cap.get(cv2.CAP_PROP_FOURCC))
        if s.mjpg and fourcc not in ("MJPG", ""):
            # Raw YUYV over USB 2 cannot carry HD at 30 fps: the preview will stutter.
            log.warning("camera.not_mjpg source=%s format=%s", self.name, fourcc)

    def read(self) -> np.ndarray:
        """The next frame; raises ``CameraLost`` after a few failed reads or when unplugged."""
        if self._cap is None:
            raise CameraLost(detail=f"source={self.name} not open")
        for _ in range(self.MAX_FAILED_READS):
            ok, frame = self._cap.read()
            if ok and frame is not None and frame.size:
                # a photographer's view, never a mirror's: the still is taken from this stream
                return np.asarray(cv2.flip(frame, 1) if self.settings.mirrored else frame)
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
