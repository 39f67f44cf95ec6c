"""Picture files (a downloaded code, a screenshot, a photo of a printout) as gray for reading QR codes."""

from __future__ import annotations

import cv2
import numpy as np

from kiosk.camera.files import decode_image


def picture_gray(data: bytes) -> np.ndarray | None:
    """The picture in ``data`` as 8-bit gray, transparency laid on white; None unless it is a usable image.

    Transparent pixels often keep a black colour: read as they are, a QR code
    saved on a transparent background would have light modules as dark as its
    dark ones. A screen or a printout shows it on white, and so does this.
    """
    image = decode_image(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        return None
    if image.ndim == 3 and image.shape[2] == 4 and image.dtype in (np.uint8, np.uint16):
        return _over_white(image)
    return decode_image(data, cv2.IMREAD_GRAYSCALE)


def _over_white(bgra: np.ndarray) -> np.ndarray:
    top = float(np.iinfo(bgra.dtype).max)
    alpha = bgra[:, :, 3:4].astype(np.float32) / top
    bgr = bgra[:, :, :3].astype(np.float32) * (255.0 / top) * alpha + 255.0 * (1.0 - alpha)
    return cv2.cvtColor(np.clip(bgr + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY)
