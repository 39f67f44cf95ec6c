"""Finding faces and eyes with the Haar cascades that ship with OpenCV 4.x.

Faces are found on a copy of the frame the caller downscaled (cheap, and a
face worth photographing is large), then measured again finely around where
they were found (``refine``); eyes are searched in the upper part of each
face at a fixed working size cut from the full-resolution frame, one half of
the face at a time, so that one eye hidden by a glasses rim does not hide the
other. Eye centres are refined to the darkest blob (the pupil)
inside each eye box, because the box centre alone is too coarse to judge a
5 degree tilt (measured on rotated real faces: the angle from box centres
scatters by up to 10 degrees, from the pupils by about 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.errors import KioskError

FACE_CASCADE = "haarcascade_frontalface_default.xml"
#: tried in order on each half of the face until one gives a plausible eye
EYE_CASCADES = ("haarcascade_eye.xml", "haarcascade_eye_tree_eyeglasses.xml")
#: the per-eye cascades are the last resort (they also fire on eyebrows)
SPLIT_CASCADES = {"left": "haarcascade_righteye_2splits.xml", "right": "haarcascade_lefteye_2splits.xml"}

#: eyes are searched with the face scaled to this width (eyes are then ~30 px)
EYE_FACE_WIDTH = 120
#: eye search passes: (face width in the working copy, votes a hit needs)
EYE_PASSES = ((EYE_FACE_WIDTH, 2), (EYE_FACE_WIDTH * 1.25, 2), (EYE_FACE_WIDTH * 1.5, 2))
#: band of the face box (fractions of its height) that holds the eyes
EYE_BAND = (0.18, 0.62)
#: faces up to this width (detection pixels) are searched with finer size steps
SMALL_FACE = 44
#: faces are measured finely at this width (pixels)
REFINE_FACE_WIDTH = 72
#: a second face narrower than this share of the largest is ignored (backdrop noise)
MIN_SECOND_FACE = 0.5


class DetectorError(KioskError):
    """The face detector cannot be used (its cascade files are missing)."""

    default_key = "portrait.error.detector"


@dataclass(frozen=True)
class Box:
    """An upright rectangle in frame pixels."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        """Horizontal centre."""
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        """Vertical centre."""
        return self.y + self.h / 2

    def as_list(self) -> list[float]:
        """``[x, y, w, h]`` rounded to a tenth of a pixel, for JSON."""
        return [round(v, 1) for v in (self.x, self.y, self.w, self.h)]


@dataclass(frozen=True)
class Eyes:
    """Both eye centres in frame pixels; ``left`` is the one on the image's left."""

    left: tuple[float, float]
    right: tuple[float, float]

    @property
    def line_y(self) -> float:
        """Height of the eye line (mean of both centres)."""
        return (self.left[1] + self.right[1]) / 2

    @property
    def centre_x(self) -> float:
        """Midpoint between the eyes."""
        return (self.left[0] + self.right[0]) / 2

    @property
    def distance(self) -> float:
        """Distance between the eye centres."""
        return math.hypot(self.right[0] - self.left[0], self.right[1] - self.left[1])

    @property
    def angle_deg(self) -> float:
        """Roll of the eye line; positive when the image-right eye is lower."""
        return math.degrees(math.atan2(self.right[1] - self.left[1], self.right[0] - self.left[0]))


def _cascade(name: str) -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + name  # type: ignore[attr-defined]
    classifier = cv2.CascadeClassifier(path)
    if classifier.empty():
        raise DetectorError(detail=f"cannot load {path}")
    return classifier


class FaceDetector:
    """Faces on a downscaled frame, eyes on the full-resolution face."""

    def __init__(self) -> None:
        self._face = _cascade(FACE_CASCADE)
        self._eyes = [_cascade(n) for n in EYE_CASCADES]
        self._split = {side: _cascade(n) for side, n in SPLIT_CASCADES.items()}
        # the cascade that found each eye last is tried first next time: the
        # same person wears the same glasses from frame to frame (speed only)
        self._first = {"left": 0, "right": 0}

    def faces(self, small_gray: np.ndarray, k: float, size: tuple[float, float] | None = None,
              step: float = 1.1) -> list[Box]:
        """Faces in ``small_gray`` (the frame scaled by ``k``), largest first, in frame pixels.

        ``size`` limits the face widths searched (pixels of ``small_gray``),
        for a search around a face already known, in size steps of ``step``.
        Faces much smaller than the
        largest are dropped: at kiosk distance a second person is as large as
        the first, and small hits are noise.
        """
        if size is not None:
            lo, hi = max(20, round(size[0])), max(21, round(size[1]))
            found = list(self._face.detectMultiScale(small_gray, scaleFactor=step, minNeighbors=4,
                                                     minSize=(lo, lo), maxSize=(hi, hi)))
        else:
            # small faces need fine size steps to be found at all; large ones
            # do not, and they are where most of the search time would go
            found = [*self._face.detectMultiScale(small_gray, scaleFactor=1.1, minNeighbors=4, minSize=(20, 20),
                                                  maxSize=(SMALL_FACE, SMALL_FACE)),
                     *self._face.detectMultiScale(small_gray, scaleFactor=1.2, minNeighbors=4,
                                                  minSize=(SMALL_FACE - 4, SMALL_FACE - 4))]
        boxes: list[Box] = []
        for x, y, bw, bh in sorted(found, key=lambda f: -f[2]):
            box = Box(float(x) / k, float(y) / k, float(bw) / k, float(bh) / k)
            # the two passes overlap in size: one face may be found by both
            if all(abs(box.cx - b.cx) > b.w * 0.5 or abs(box.cy - b.cy) > b.h * 0.5 for b in boxes):
                boxes.append(box)
        if not boxes:
            return []
        return [b for b in boxes if b.w >= boxes[0].w * MIN_SECOND_FACE]

    def refine(self, gray: np.ndarray, face: Box) -> Box:
        """``face`` measured again, finely, in ``gray`` (full resolution, the same coordinates).

        The whole-frame search steps face sizes by 20 % to stay fast, so its
        box can be that much too large; a fine search (4 % steps) over a
        narrow range of sizes around the face costs little and fixes it.
        """
        x0, y0 = max(0, int(face.x - face.w * 0.35)), max(0, int(face.y - face.h * 0.35))
        x1 = min(gray.shape[1], int(face.x + face.w * 1.35) + 1)
        y1 = min(gray.shape[0], int(face.y + face.h * 1.35) + 1)
        k = min(1.0, REFINE_FACE_WIDTH / face.w)
        region = gray[y0:y1, x0:x1]
        if k < 1:
            region = cv2.resize(region, (max(1, round(region.shape[1] * k)), max(1, round(region.shape[0] * k))),
                                interpolation=cv2.INTER_AREA)
        lo, hi = round(face.w * k * 0.72), round(face.w * k * 1.15)
        found = self._face.detectMultiScale(region, scaleFactor=1.04, minNeighbors=3, minSize=(lo, lo),
                                            maxSize=(hi, hi))
        if len(found) == 0:
            return face
        boxes = [Box(x0 + float(x) / k, y0 + float(y) / k, float(w) / k, float(h) / k) for x, y, w, h in found]
        return min(boxes, key=lambda b: abs(b.cx - face.cx) + abs(b.cy - face.cy))

    def faces_rolled(self, small_gray: np.ndarray, k: float, angle: float) -> list[Box]:
        """Faces found with the image turned by ``angle`` degrees, boxes mapped back upright.

        The frontal cascade misses heads rolled by more than about 10
        degrees; finding them anyway lets the person be told to straighten up
        instead of being told there is nobody there.
        """
        h, w = small_gray.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        turned = cv2.warpAffine(small_gray, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
        back = cv2.invertAffineTransform(m)
        out = []
        for box in self.faces(turned, 1.0):
            cx = back[0, 0] * box.cx + back[0, 1] * box.cy + back[0, 2]
            cy = back[1, 0] * box.cx + back[1, 1] * box.cy + back[1, 2]
            out.append(Box((cx - box.w / 2) / k, (cy - box.h / 2) / k, box.w / k, box.h / k))
        return out

    def eyes(self, gray: np.ndarray, face: Box, near: Eyes | None = None) -> Eyes | None:
        """Both eyes of ``face`` in ``gray`` (full resolution), or None unless both are found.

        ``near``: where the eyes were a moment ago (same coordinates); each eye
        is then searched only around there, a fraction of the cost.
        """
        y0 = max(0, round(face.y + EYE_BAND[0] * face.h))
        y1 = min(gray.shape[0], round(face.y + EYE_BAND[1] * face.h))
        x0, x1 = max(0, round(face.x)), min(gray.shape[1], round(face.x + face.w))
        if y1 - y0 < 8 or x1 - x0 < 16:
            return None
        found: dict[str, tuple[float, float]] = {}
        # later passes (other working sizes, looser votes) run only for a side
        # still missing: small eyes behind glasses, a box a little off
        for width, votes in EYE_PASSES:
            k = width / face.w
            roi = gray[y0:y1, x0:x1]
            roi = cv2.resize(roi, (max(1, round(roi.shape[1] * k)), max(1, round(roi.shape[0] * k))),
                             interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
            hints = None if near is None else {side: ((px - x0) * k, (py - y0) * k)
                                                for side, (px, py) in (("left", near.left), ("right", near.right))}
            for side, (bx, by, bw, bh) in self._eyes_at(roi, face, (x0, y0), k, set(found), votes=votes,
                                                        near=hints).items():
                # the pupil is found at full resolution: in the small working
                # copy the iris and the shadow under it blur into one
                box = (round(x0 + bx / k), round(y0 + by / k), round(bw / k), round(bh / k))
                found[side] = self._pupil(gray, box)
            if len(found) == 2:
                break
        if len(found) < 2:
            return None
        left, right = found["left"], found["right"]
        if not 0.25 * face.w <= right[0] - left[0] <= 0.65 * face.w:
            return None
        return Eyes(left=(float(left[0]), float(left[1])), right=(float(right[0]), float(right[1])))

    def _eyes_at(self, roi: np.ndarray, face: Box, origin: tuple[int, int], k: float,
                 skip: set[str], *, votes: int,
                 near: dict[str, tuple[float, float]] | None) -> dict[str, tuple[int, int, int, int]]:
        """Eye boxes (ROI pixels) per side of the face found at scale ``k``."""
        fx0, fy0 = (face.x - origin[0]) * k, (face.y - origin[1]) * k
        fw = face.w * k
        half = roi.shape[1] // 2
        pad = round(fw * 0.08)
        found: dict[str, tuple[int, int, int, int]] = {}
        for side, columns in (("left", (0, half + pad)), ("right", (half - pad, roi.shape[1]))):
            if side in skip:
                continue
            expected = (fx0 + fw * (0.3 if side == "left" else 0.7), fy0 + 0.4 * face.h * k)
            (a, b), (top, bottom) = columns, (0, roi.shape[0])
            if near is not None:
                expected = near[side]
                a, b = max(0, round(expected[0] - fw * 0.25)), min(roi.shape[1], round(expected[0] + fw * 0.25))
                top = max(0, round(expected[1] - fw * 0.22))
                bottom = min(roi.shape[0], round(expected[1] + fw * 0.22))
                if b - a < fw * 0.2 or bottom - top < fw * 0.2:
                    continue
            cascades = [*self._eyes, self._split[side]]
            first = self._first[side]
            for i in [first, *(j for j in range(len(cascades)) if j != first)]:
                hit = self._best_eye(cascades[i], roi[top:bottom, a:b], (a, top), fw, expected, votes=votes)
                if hit is not None:
                    found[side] = hit
                    self._first[side] = i
                    break
        return found

    @staticmethod
    def _best_eye(cascade: cv2.CascadeClassifier, roi: np.ndarray, offset: tuple[int, int], fw: float,
                  expected: tuple[float, float], *, votes: int) -> tuple[int, int, int, int] | None:
        lo, hi = max(8, round(fw * 0.13)), round(fw * 0.36)
        hits = cascade.detectMultiScale(roi, scaleFactor=1.1, minNeighbors=votes, minSize=(lo, lo),
                                        maxSize=(hi, hi))
        best, best_d = None, fw * 0.2
        ox, oy = offset
        for x, y, w, h in hits:
            d = math.hypot(ox + x + w / 2 - expected[0], oy + y + h / 2 - expected[1])
            if d < best_d:
                best, best_d = (ox + int(x), oy + int(y), int(w), int(h)), d
        return best

    @staticmethod
    def _pupil(roi: np.ndarray, box: tuple[int, int, int, int]) -> tuple[float, float]:
        """The pupil and iris: the darkest blob in the middle of an eye box, then its dark centroid.

        The blob (a blur about the iris's size, then the minimum) finds the
        iris and not a thin glasses rim or eyebrow; the centroid of the
        darkest quarter around it gives a sub-pixel centre.
        """
        x, y, w, h = box
        ax, bx = x + round(w * 0.2), x + round(w * 0.8)
        ay, by = y + round(h * 0.2), y + round(h * 0.85)
        patch = roi[ay:by, ax:bx].astype(np.float32)
        if patch.shape[0] < 3 or patch.shape[1] < 3:
            return x + w / 2, y + h / 2
        blob = cv2.GaussianBlur(patch, (0, 0), max(0.8, 0.08 * w))
        _, _, (px, py), _ = cv2.minMaxLoc(blob)
        r = max(2, round(0.15 * w))
        x0, y0 = max(0, px - r), max(0, py - r)
        window = cv2.GaussianBlur(patch, (3, 3), 0)[y0: py + r + 1, x0: px + r + 1]
        threshold = float(np.percentile(window, 25))
        ys, xs = np.nonzero(window <= threshold)
        weights = threshold - window[ys, xs] + 1.0
        return (ax + x0 + float((xs * weights).sum() / weights.sum()) + 0.5,
                ay + y0 + float((ys * weights).sum() / weights.sum()) + 0.5)
