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
#: the middle of an eye is searched for an iris at this width (pixels)
IRIS_WORK = 24
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


@dataclass(frozen=True)
class FaceLook:
    """What the landmarks let us measure on the face's pixels: cheek light and the eyes."""

    cheek_ratio: float  # mean luminance of the darker cheek over the brighter one (even light ~0.85-1)
    eye_darkness: float  # luminance around the eyes over the cheeks' (bare eyes ~0.7, sunglasses ~0.3)
    iris_share: float  # share of the eye's middle that is a dark round blob (open eyes 0.1-0.35, closed < 0.05)
    glare: float  # the larger share of saturated pixels around either eye (glare on glasses)


def _box_mean(gray: np.ndarray, cx: float, cy: float, rx: float, ry: float) -> tuple[float, np.ndarray]:
    x0, x1 = max(0, round(cx - rx)), min(gray.shape[1], round(cx + rx) + 1)
    y0, y1 = max(0, round(cy - ry)), min(gray.shape[0], round(cy + ry) + 1)
    window = gray[y0:y1, x0:x1]
    return (float(window.mean()) if window.size else 0.0), window


def measure_look(gray: np.ndarray, points: np.ndarray) -> FaceLook:
    """Cheek light, eye darkness, iris share and glare of a face with 68 landmarks ``points`` in ``gray``.

    The cheeks are sampled halfway between the jaw line and the nostrils at
    cheekbone height, where neither hair nor a beard usually is; the eyes in
    a lens-sized box around each eye's contour.
    """
    width = float(np.linalg.norm(points[15] - points[1]))
    r = max(2.0, 0.07 * width)
    cheeks = []
    for jaw, nostril in ((points[2], points[31]), (points[14], points[35])):
        c = (jaw + nostril) / 2
        cheeks.append(_box_mean(gray, float(c[0]), float(c[1]), r, r)[0])
    cheek = max(1.0, (cheeks[0] + cheeks[1]) / 2)
    ratio = min(cheeks) / max(1.0, *cheeks)
    darkness, iris, glare = [], [], 0.0
    for eye, own in ((points[36:42], cheeks[0]), (points[42:48], cheeks[1])):
        centre = eye.mean(axis=0)
        ew = float(np.linalg.norm(eye[3] - eye[0]))
        mean, lens = _box_mean(gray, float(centre[0]), float(centre[1]), 0.8 * ew, 0.5 * ew)
        darkness.append(mean / cheek)
        if lens.size:
            glare = max(glare, float((lens > BRIGHT).mean()))
        # an iris: a round dark blob in the middle of the eye; at a fixed
        # working size an erosion removes thin dark lines (lashes of a closed
        # lid, a glasses rim) and keeps a blob a quarter of the eye wide
        # only as tall as the lids are apart: a squint of a smile shows a
        # narrow iris that a fixed window would dilute in the lids around it
        gap = float(np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])) / 2
        _, middle = _box_mean(gray, float(centre[0]), float(centre[1]), 0.5 * ew,
                              min(0.3 * ew, max(0.2 * ew, 0.6 * gap)))
        if middle.size == 0 or ew < 4:
            iris.append(0.0)
            continue
        work = cv2.resize(middle, (IRIS_WORK, max(3, round(IRIS_WORK * middle.shape[0] / middle.shape[1]))),
                          interpolation=cv2.INTER_AREA)
        # against the cheek on the same side: light from one side darkens both
        dark = (work < 0.6 * max(1.0, own)).astype(np.uint8)
        iris.append(float(cv2.erode(dark, np.ones((3, 3), np.uint8)).mean()))
    return FaceLook(ratio, min(darkness), min(iris), glare)
