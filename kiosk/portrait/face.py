"""Finding faces with the Haar cascade that ships with OpenCV 4.x.

Faces are found on a copy of the frame the caller downscaled (cheap, and a
face worth photographing is large), then measured again finely around where
they were found (``refine``). The eyes and the rest of the face are placed
inside the box by the landmark model (``shape.py``): Haar's eye cascades also
fire on eyebrows, which tilted level faces by 11 degrees and moved the eye
line by 15-20 px.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.errors import KioskError

FACE_CASCADE = "haarcascade_frontalface_default.xml"
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
    """Faces on a downscaled frame, measured again finely on the full-resolution one."""

    def __init__(self) -> None:
        self._face = _cascade(FACE_CASCADE)

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
