"""The standard photo (学历照片): 480x640, head top, eye line and face width in their bands.

``make_photo`` cuts the photo from the capture, never mirrored: the saved
picture is what a photographer would take, whatever the preview showed. The
landmarks are measured again on the capture itself at full resolution (the
analysis passed in comes from a preview frame and is smoothed); the crop is
then planned by ``framing.plan_crop`` and, when no crop inside the capture
meets the standard, ``FramingError`` carries the hint that fixes it ("step
back", "move to the centre") instead of padding the picture.

A preview frame of a followed face holds the verdicts of the slower checks
(headwear, backdrop, clothing) from earlier frames. Those are judged again on
the capture itself before it becomes the photo: a check that passed on the
preview and fails on the capture refuses it with its own hint, so a held
verdict never reaches a saved photo.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from kiosk.config import PortraitSection
from kiosk.errors import KioskError
from kiosk.portrait import background as bg
from kiosk.portrait import jpeg
from kiosk.portrait.analysis import SLOW_CHECKS, Analysis, Analyzer, check_frame, landmarks
from kiosk.portrait.face import Box, Eyes, FaceDetector
from kiosk.portrait.framing import OUT_H, OUT_W, Crop, plan_crop
from kiosk.portrait.measurements import photo_measurements
from kiosk.portrait.shape import MIN_SCORE, ShapeMeasures, ShapeModel

log = logging.getLogger(__name__)

#: the original is the standard crop grown by this factor (more shoulders), at camera resolution
ORIGINAL_GROWTH = 1.6
ORIGINAL_QUALITY = 92


class FramingError(KioskError):
    """No crop of the capture meets the standard; ``key`` is the hint that fixes it."""

    default_key = "portrait.hint.move_centre"


@dataclass(frozen=True)
class StandardPhoto:
    """The standard photo, the optional original, and what the photo measures.

    ``measurements`` is what the record carries to the reviewer
    (``measurements.photo_measurements``: short keys, rounded scalars).
    """

    jpeg: bytes
    original_jpeg: bytes | None
    geometry: dict[str, Any] = field(default_factory=dict)
    measurements: dict[str, float | int | bool | str] = field(default_factory=dict)


def make_photo(capture_bgr: np.ndarray, analysis: Analysis, settings: PortraitSection,
               detector: FaceDetector | None = None, shapes: ShapeModel | None = None) -> StandardPhoto:
    """The standard photo of ``capture_bgr``, whose preview ``analysis`` found one face.

    ``detector`` and ``shapes`` may be passed to reuse loaded models. Raises
    ``FramingError`` (its key a hint for the person) when there is no face or
    no crop inside the capture meets the standard.
    """
    check_frame(capture_bgr)
    if analysis.face is None:
        raise FramingError(analysis.first_hint() or "portrait.hint.no_face", detail="no face in the analysis")
    detector = detector or FaceDetector()
    shapes = shapes or ShapeModel()
    rechecked = _recheck(capture_bgr, analysis, settings, detector, shapes)
    h, w = capture_bgr.shape[:2]
    face, eyes, shape = _refine_face(capture_bgr, analysis.face, analysis.eyes, analysis.shape,
                                     detector=detector, shapes=shapes)
    top = _head_top(capture_bgr, face) if analysis.head_top is not None else None
    marks = landmarks(face, eyes, top, shape)
    plan = plan_crop(w, h, marks, settings.max_upscale)
    if plan.crop is None:
        log.info("photo.framing problem=%s", plan.problem)
        raise FramingError(plan.hint_key, detail=f"no crop: {plan.problem}")
    x0, y0, x1, y1 = _pixel_crop(plan.crop, w, h)
    scale = OUT_W / (x1 - x0)
    crop = capture_bgr[y0:y1, x0:x1]
    photo = cv2.resize(crop, (OUT_W, OUT_H), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    rgb = cv2.cvtColor(photo, cv2.COLOR_BGR2RGB)
    encoded = jpeg.encode_in_band(rgb, settings.jpeg_min_kb * 1024, settings.jpeg_max_kb * 1024)
    eye_y = eyes.line_y if eyes is not None else face.y + 0.4 * face.h
    geometry: dict[str, Any] = {
        "head_top_px": round((top - y0) * scale, 1) if top is not None else None,
        "eye_line_px": round((eye_y - y0) * scale, 1),
        "chin_px": round((shape.chin_y - y0) * scale, 1) if shape is not None else None,
        "face_width_px": round(marks.face_width * scale, 1),
        "face_centre_px": round((marks.face_cx - x0) * scale, 1),
        "tilt_deg": round(eyes.angle_deg, 2) if eyes is not None else None,
        "head_top_measured": top is not None,
        "eyes_found": eyes is not None,
        "crop": [x0, y0, x1 - x0, y1 - y0],
        "scale": round(scale, 4),
        "quality": encoded.quality,
        "bytes": len(encoded.data),
        "size_in_band": encoded.in_band,
        "rechecked": rechecked,
    }
    original = _original(capture_bgr, (x0, y0, x1, y1)) if settings.keep_original else None
    log.info("photo.made bytes=%d quality=%d scale=%.3f", len(encoded.data), encoded.quality, scale)
    return StandardPhoto(encoded.data, original, geometry, photo_measurements(geometry, analysis))


def _recheck(capture: np.ndarray, analysis: Analysis, settings: PortraitSection, detector: FaceDetector,
             shapes: ShapeModel) -> list[str]:
    """The held checks of ``analysis`` judged again on the capture; raises when one fails there.

    Only checks that passed on the preview are held against the capture: a
    check that already failed there was the operator's call (a manual
    shutter), not a stale verdict. Returns the names of the checks judged.
    """
    held = [name for measure, names in SLOW_CHECKS.items() if measure not in analysis.fresh for name in names]
    passed = {c.name for c in analysis.checks if c.passed}
    names = [n for n in held if n in passed]
    if not names:
        return []
    still = Analyzer(settings, frame_guard=0.0, detector=detector, shapes=shapes)
    fresh = still.analyse(capture, allow_headwear=analysis.allow_headwear)
    for check in fresh.checks:
        if check.name in names and not check.passed:
            log.info("photo.recheck_failed check=%s value=%s", check.name,
                     None if check.value is None else round(check.value, 3))
            raise FramingError(check.hint_key or "portrait.hint.hold", detail=f"{check.name} fails on the capture")
    return names


def _pixel_crop(crop: Crop, w: int, h: int) -> tuple[int, int, int, int]:
    """The crop on whole pixels, 3:4, inside the capture."""
    cw = min(w, max(3, round(crop.w / 3) * 3))
    ch = cw * 4 // 3
    if ch > h:  # pragma: no cover - plan_crop keeps the crop inside
        ch = h - h % 4
        cw = ch * 3 // 4
    x0 = min(max(0, round(crop.x + (crop.w - cw) / 2)), w - cw)
    y0 = min(max(0, round(crop.y + (crop.h - ch) / 2)), h - ch)
    return x0, y0, x0 + cw, y0 + ch


def _refine_face(capture: np.ndarray, face: Box, eyes: Eyes | None, shape: ShapeMeasures | None, *,
                 detector: FaceDetector,
                 shapes: ShapeModel) -> tuple[Box, Eyes | None, ShapeMeasures | None]:
    """Face, eyes and landmark measures taken again on the capture, near where the preview saw them."""
    h, w = capture.shape[:2]
    # the same measuring as the preview's analysis, on this very frame
    x0, y0 = max(0, int(face.x - face.w * 0.4)), max(0, int(face.y - face.h * 0.4))
    x1, y1 = min(w, int(face.x + face.w * 1.4) + 1), min(h, int(face.y + face.h * 1.4) + 1)
    region = capture[y0:y1, x0:x1]
    fine = detector.refine(cv2.cvtColor(region, cv2.COLOR_BGR2GRAY), Box(face.x - x0, face.y - y0, face.w, face.h))
    local = shapes.shape(region, fine)
    if local.score > MIN_SCORE and 0.55 * fine.w <= local.width <= 1.2 * fine.w:
        found = local.moved(x0, y0)
        eyes, shape = found.eyes, ShapeMeasures.of(found)
    return Box(fine.x + x0, fine.y + y0, fine.w, fine.h), eyes, shape


def _head_top(capture: np.ndarray, face: Box) -> float | None:
    """The head top at full resolution from the backdrop; None when the backdrop hides it."""
    h, w = capture.shape[:2]
    k = min(1.0, 320.0 / w)
    small = cv2.resize(capture, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA) if k < 1 else capture
    backdrop = bg.estimate_backdrop(bg.to_lab(small))
    bx0, bx1, by1 = bg.head_band(face)
    x0, x1, y1 = max(0, int(bx0)), min(w, int(bx1) + 1), min(h, int(by1) + 1)
    band = bg.to_lab(capture[:y1, x0:x1])
    top = bg.head_top(band, Box(face.x - x0, face.y, face.w, face.h), backdrop)
    return top


def _original(capture: np.ndarray, crop: tuple[int, int, int, int]) -> bytes:
    """The head-and-shoulders original: the crop grown, clipped to the capture, not scaled."""
    x0, y0, x1, y1 = crop
    h, w = capture.shape[:2]
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    gw, gh = (x1 - x0) * ORIGINAL_GROWTH, (y1 - y0) * ORIGINAL_GROWTH
    ox0, oy0 = max(0, round(cx - gw / 2)), max(0, round(cy - gh / 2))
    ox1, oy1 = min(w, round(cx + gw / 2)), min(h, round(cy + gh / 2))
    rgb = cv2.cvtColor(capture[oy0:oy1, ox0:ox1], cv2.COLOR_BGR2RGB)
    return jpeg.encode(np.ascontiguousarray(rgb), ORIGINAL_QUALITY)
