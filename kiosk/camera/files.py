"""Video and image files as a camera: a video loops, an image repeats; and decoding image files safely."""

from __future__ import annotations

import io
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk.camera.base import CameraLost, CameraNotFound, Pacer

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
#: Images claiming more pixels are not decoded: a phone's 48-megapixel photo fits,
#: while a PNG of a few kilobytes can claim a billion pixels and take gigabytes to decode.
MAX_IMAGE_PIXELS = 100_000_000


def image_pixels(data: bytes) -> int | None:
    """The pixel count an image file's header claims, read without decoding; None when unknown."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                width, height = probe.size
    except Image.DecompressionBombError:
        return 2 ** 62  # Pillow will not even say how many: far more than any camera's
    except (OSError, ValueError, SyntaxError):
        return None
    return int(width) * int(height)


def decode_image(data: bytes, flags: int = cv2.IMREAD_COLOR) -> np.ndarray | None:
    """The image in ``data`` decoded by OpenCV with ``flags``; None unless it is a usable image.

    Refuses, without decoding, an image whose header claims more than
    ``MAX_IMAGE_PIXELS``; an OpenCV refusal (its own pixel limit, a broken
    header) is a None too, never an exception.
    """
    if not data:
        return None
    pixels = image_pixels(data)
    if pixels is not None and pixels > MAX_IMAGE_PIXELS:
        return None
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error:
        return None
    if image is None or image.size == 0 or image.shape[0] * image.shape[1] > MAX_IMAGE_PIXELS:
        return None
    return np.asarray(image)


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
        self._pacer: Pacer | None = None
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
            try:
                image = decode_image(self.path.read_bytes(), cv2.IMREAD_COLOR)
            except OSError:
                image = None
            if image is None:
                raise CameraNotFound("camera.file_unreadable", f"file={self.path.name}", path=str(self.path))
            self._image = image
            fps = fps or 30.0
        self._pacer = Pacer(fps, self._clock, self._sleep)

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
