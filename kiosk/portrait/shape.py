"""The 68 face landmarks and what they tell: eyes, face width, pose, eyes open, mouth open.

The landmarks come from dlib's shape predictor, with the 68-point model that
the ``face_recognition_models`` package ships (nothing is downloaded); it
places the points inside the Haar face box in about 1-2 ms on one core. The
points follow the iBUG 300-W layout: 0-16 the jaw line from the image-left
ear to the image-right ear, 17-26 the brows, 27-35 the nose (30 its tip),
36-41 and 42-47 the eyes, 48-67 the mouth (60-67 the inner lips).

They replace what the Haar cascades guessed: an eye centre is the middle of
its six contour points, never an eyebrow; the face width is the cheek-to-
cheek width the photo standard means (jaw points 1 and 15, at cheekbone
height), not the detection box, which is about 1.2 times wider.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from kiosk.errors import KioskError
from kiosk.portrait.face import Box, Eyes

#: how far the nose tip stands in front of the cheekbones, in half face widths
YAW_DEPTH = 0.93
#: the Haar box sits higher and is wider than the boxes dlib's model was
#: trained on; this maps one onto the other (measured on the packaged faces)
_BOX_SHIFT_Y, _BOX_SCALE = 0.14, 0.94
#: pitch from how far down the face the nose tip sits: its distance below the
#: eye line over the eye line's distance to the chin. Level faces read
#: 0.26-0.32 (the three packaged bareheaded portraits: 0.324, 0.281, 0.264;
#: people differ by about as much as 15 degrees of pitch change it), the
#: middle of those is 0; a head tipped back brings the nose tip up towards the
#: eyes (the tip stands out of the face), by about 0.0033 per degree
PITCH_LEVEL_RATIO, PITCH_DEG_PER_RATIO = 0.29, 300.0


class LandmarkModelError(KioskError):
    """The landmark model cannot be loaded (its package is not installed)."""

    default_key = "portrait.error.detector"


@dataclass(frozen=True)
class FaceShape:
    """The 68 landmarks of one face (frame pixels) and the measures derived from them."""

    points: np.ndarray  # (68, 2) float64, read-only

    def moved(self, dx: float, dy: float) -> FaceShape:
        """The same shape shifted by (dx, dy)."""
        pts = self.points + np.array([dx, dy])
        pts.flags.writeable = False
        return FaceShape(pts)

    @property
    def eyes(self) -> Eyes:
        """Eye centres: the mean of each eye's six contour points."""
        a, b = self.points[36:42].mean(axis=0), self.points[42:48].mean(axis=0)
        return Eyes((float(a[0]), float(a[1])), (float(b[0]), float(b[1])))

    @property
    def width(self) -> float:
        """Cheek-to-cheek width: jaw points 1 and 15, at the cheekbones."""
        return float(np.linalg.norm(self.points[15] - self.points[1]))

    @property
    def centre_x(self) -> float:
        """Horizontal middle of the face (between the cheeks)."""
        return float((self.points[1, 0] + self.points[15, 0]) / 2)

    @property
    def brow_y(self) -> float:
        """Height of the brows (the highest of their mean heights)."""
        return float(min(self.points[17:22, 1].mean(), self.points[22:27, 1].mean()))

    @property
    def chin_y(self) -> float:
        """Height of the chin."""
        return float(self.points[8, 1])

    def eye_openness(self) -> float:
        """The less open eye: lid-to-lid height over eye width (open 0.25-0.35, closed below 0.15)."""
        def one(e: np.ndarray) -> float:
            height = np.linalg.norm(e[1] - e[5]) + np.linalg.norm(e[2] - e[4])
            return float(height / (2 * max(1e-6, float(np.linalg.norm(e[0] - e[3])))))
        return min(one(self.points[36:42]), one(self.points[42:48]))

    def mouth_openness(self) -> float:
        """Gap between the inner lips over the mouth's width (closed ~0, a smile < 0.15, wide open > 0.3)."""
        p = self.points
        gap = (np.linalg.norm(p[61] - p[67]) + np.linalg.norm(p[62] - p[66]) + np.linalg.norm(p[63] - p[65])) / 3
        return float(gap / max(1e-6, float(np.linalg.norm(p[54] - p[48]))))

    def pose(self) -> tuple[float, float]:
        """(yaw, pitch) in degrees: yaw > 0 turned towards the image's right, pitch > 0 chin up.

        Yaw from how far the nose tip sits off the middle between the cheeks:
        the tip stands about as far in front of the cheekbones as they are
        from the middle, so the offset over the half-width is about
        tan(yaw) (steadier than a fitted head at 150-300 px faces: the fit
        swung by 15 degrees between frames of one still face). Pitch from
        where the nose tip sits between the eye line and the chin
        (``PITCH_LEVEL_RATIO``): a generic head fitted with ``cv2.solvePnP``
        read one level face at +8 and another tipped down by 20 degrees at
        +29 (its sign flips), and where the face stands in the frame does not
        move this ratio.
        """
        p = self.points
        # along the cheek line (a rolled head is not a turned one), averaged over
        # three jaw pairs and the nose ridge (one misplaced point moves less)
        across = (p[15] - p[1]) / max(1e-6, float(np.linalg.norm(p[15] - p[1])))
        middle = np.mean([(p[a] + p[b]) / 2 for a, b in ((1, 15), (2, 14), (3, 13))], axis=0)
        half = float(np.mean([np.linalg.norm(p[b] - p[a]) for a, b in ((1, 15), (2, 14), (3, 13))])) / 2
        offset = float(np.dot(p[[27, 28, 29, 30, 33]].mean(axis=0) - middle, across)) / max(1.0, half)
        yaw = math.degrees(math.atan(offset / YAW_DEPTH))
        eye_line = (p[36:42].mean(axis=0) + p[42:48].mean(axis=0)) / 2
        # measured square to the eye line, so a rolled head is not a tipped one
        down = np.array([-across[1], across[0]])
        to_chin = float(np.dot(p[8] - eye_line, down))
        ratio = float(np.dot(p[30] - eye_line, down)) / max(1.0, to_chin)
        pitch = (PITCH_LEVEL_RATIO - ratio) * PITCH_DEG_PER_RATIO
        return yaw, max(-90.0, min(90.0, pitch))


@cache
def _predictor(path: str) -> object:
    import dlib

    return dlib.shape_predictor(path)


def model_path() -> str:
    """Path of the 68-point model inside the ``face_recognition_models`` package."""
    try:
        import face_recognition_models
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise LandmarkModelError(detail=f"face_recognition_models: {exc}") from None
    return str(face_recognition_models.pose_predictor_model_location())


class ShapeModel:
    """dlib's 68-point shape predictor, loaded once per process (about 2 s, 100 MB)."""

    def __init__(self) -> None:
        try:
            self._predict = _predictor(model_path())
        except (ImportError, RuntimeError) as exc:
            raise LandmarkModelError(detail=str(exc)) from None

    def shape(self, gray: np.ndarray, face: Box) -> FaceShape:
        """The landmarks of the face in ``face`` (a Haar box) of ``gray`` (uint8, C-contiguous)."""
        import dlib

        size = face.w * _BOX_SCALE
        x = face.cx - size / 2
        y = face.y + face.h * _BOX_SHIFT_Y + (face.w - size) / 2
        rect = dlib.rectangle(round(x), round(y), round(x + size), round(y + size))
        found = self._predict(np.ascontiguousarray(gray), rect)  # type: ignore[operator]
        pts = np.array([(p.x, p.y) for p in found.parts()], dtype=np.float64)
        pts.flags.writeable = False
        return FaceShape(pts)


@dataclass(frozen=True)
class ShapeMeasures:
    """The numbers the checks and the crop need from a ``FaceShape`` (smoothed over frames)."""

    width: float  # cheek-to-cheek, frame pixels
    centre_x: float
    chin_y: float
    yaw: float  # degrees, > 0 turned towards the image's right
    pitch: float  # degrees, > 0 chin up
    eye_open: float  # the less open eye, lid gap over eye width
    mouth_open: float  # inner-lip gap over mouth width

    @classmethod
    def of(cls, shape: FaceShape) -> ShapeMeasures:
        """The measures of ``shape``."""
        yaw, pitch = shape.pose()
        return cls(shape.width, shape.centre_x, shape.chin_y, yaw, pitch, shape.eye_openness(),
                   shape.mouth_openness())
