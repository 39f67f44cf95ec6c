"""Light and sharpness on the face: exposure, evenness between the cheeks, blur.

All measures are taken on the face scaled to a fixed working width, so that
they mean the same for a face of 150 or 500 pixels (the Laplacian variance in
particular grows with resolution, so it must be normalised for size).
Exposure and cheek evenness follow ISO/IEC 29794-5 (OFIQ): the share of face
pixels below 25 or above 247, and the overlap of the two cheek histograms.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.portrait.face import Box

#: the face is measured at this width
WORK_WIDTH = 128
DARK, BRIGHT = 25, 247


@dataclass(frozen=True)
class FaceLight:
    """Light and sharpness measured on one face."""

    mean: float  # mean luminance of the inner face, 0-255
    dark_share: float  # share of inner-face pixels below 25
    bright_share: float  # share of inner-face pixels above 247
    cheek_overlap: float  # histogram intersection of the two cheeks, 0-1
    sharpness: float  # Laplacian variance of the face at working size, per unit contrast


def face_patch(gray: np.ndarray, face: Box) -> np.ndarray | None:
    """The face box of ``gray`` at ``WORK_WIDTH``, or None when it leaves the frame."""
    x0, y0 = round(face.x), round(face.y)
    x1, y1 = round(face.x + face.w), round(face.y + face.h)
    if x0 < 0 or y0 < 0 or x1 > gray.shape[1] or y1 > gray.shape[0] or x1 - x0 < 8:
        return None
    k = WORK_WIDTH / (x1 - x0)
    size = (WORK_WIDTH, max(8, round((y1 - y0) * k)))
    return cv2.resize(gray[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)


def _hist(pixels: np.ndarray) -> np.ndarray:
    hist = np.bincount((pixels.ravel() // 8).astype(np.int64), minlength=32).astype(np.float64)
    return hist / max(1.0, hist.sum())


def measure_light(patch: np.ndarray) -> FaceLight:
    """Light and sharpness of a face patch from ``face_patch``."""
    h, w = patch.shape
    # the inner face: between the temples, brows to mouth (no hair, no backdrop)
    inner = patch[round(h * 0.25): round(h * 0.85), round(w * 0.2): round(w * 0.8)]
    mean = float(inner.mean())
    dark = float((inner < DARK).mean())
    bright = float((inner > BRIGHT).mean())
    # the cheeks: under the eyes, beside the nose
    ys = slice(round(h * 0.55), round(h * 0.78))
    left = patch[ys, round(w * 0.18): round(w * 0.38)]
    right = patch[ys, round(w * 0.62): round(w * 0.82)]
    overlap = float(np.minimum(_hist(left), _hist(right)).sum())
    lap = cv2.Laplacian(inner, cv2.CV_32F, ksize=3)
    # divided by the face's own contrast so a dim but sharp face is not "blurred"
    contrast = float(inner.std()) + 8.0
    sharpness = float(lap.var()) / contrast
    return FaceLight(mean, dark, bright, overlap, sharpness)


def eye_glare(gray: np.ndarray, eyes: tuple[tuple[float, float], tuple[float, float]], face_width: float) -> float:
    """The larger share of saturated pixels (above 247) around either pupil: a reflection on glasses.

    A catchlight in a bare eye is a few pixels; a lens reflecting a lamp
    covers the eye with white, which the standard does not accept.
    """
    r = max(2, round(face_width * 0.1))
    worst = 0.0
    for x, y in eyes:
        x0, y0 = max(0, round(x) - r), max(0, round(y) - r)
        window = gray[y0: round(y) + r, x0: round(x) + r]
        if window.size:
            worst = max(worst, float((window > BRIGHT).mean()))
    return worst
