"""The face's landmarks and what they tell: eyes, face width, pose, eyes open, mouth open.

The landmarks come from MediaPipe's face mesh model (``mesh.py``: 468 points
in 3-D, Apache-2.0, run by OpenCV; nothing is downloaded), placed in a square
cut around the Haar face box. What the other checks read is given two ways:

* ``FaceShape.mesh``, the 468 points (x, y frame pixels, z depth), which the
  measures here use: eye contours for the eye centres and lids, the cheek
  points at the cheekbones (234, 454) for the face width the photo standard
  means (the detection box is about 1.2 times wider), the inner lips, the
  chin (152), the nose tip (1), and the 3-D points for yaw and pitch;
* ``FaceShape.points``, 68 of them picked in the iBUG 300-W layout (0-16 the
  jaw line from the image-left ear to the image-right ear, 17-26 the brows,
  27-35 the nose, 36-41 and 42-47 the eyes, 48-67 the mouth) for the pixel
  measures that sample the face around them (``photometry.py``,
  ``headwear.py``). Only the layout is borrowed: the points are MediaPipe's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.portrait.face import Box, Eyes
from kiosk.portrait.mesh import MeshModel, MeshModelError, roll_of, square_of_box, square_of_mesh

__all__ = ["FaceShape", "LandmarkModelError", "ShapeMeasures", "ShapeModel"]

LandmarkModelError = MeshModelError

#: mesh point of each of the 68 iBUG points. The jaw line is the mesh point nearest to where dlib's
#: 68-point model put each jaw point on the four packaged portraits (within 2-5 % of a face width;
#: the mesh's own outline runs 5-14 % further out, round the side of the head, which moved the
#: temples the crown is compared with onto the backdrop), but for 2 and 14, which with the nostrils
#: place the cheeks the eyes' pixels are compared with: the nearest points (147, 376) put them in the
#: shade beside the nose, and one held-out person's open eyes read as closed; the rest the usual
#: correspondence
IBUG68 = np.array([
    127, 123, 137, 215, 172, 169, 149, 148, 152, 400, 378, 365, 367, 435, 366, 352, 264,  # jaw 0-16
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,  # brows 17-26
    168, 197, 5, 1, 98, 97, 2, 326, 327,  # nose 27-35 (30 the tip)
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,  # eyes 36-47
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,  # outer lips 48-59
    78, 82, 13, 312, 308, 317, 14, 87,  # inner lips 60-67
])
#: the brows' upper and lower edges in the mesh (iBUG 17-26 run along their middle, image-left first)
BROW_UPPER = (70, 63, 105, 66, 107, 336, 296, 334, 293, 300)
BROW_LOWER = (46, 53, 52, 65, 55, 285, 295, 282, 283, 276)
#: each eye's corners (image-left one first) and three pairs of lid points (upper, lower)
EYE_CORNERS = ((33, 133), (362, 263))
EYE_LIDS = (((160, 144), (159, 145), (158, 153)), ((385, 380), (386, 374), (387, 373)))
#: mouth corners and three pairs of inner-lip points (upper, lower)
MOUTH_CORNERS = (61, 291)
INNER_LIPS = ((82, 87), (13, 14), (312, 317))
#: cheekbones (the face width), chin, nose tip, top of the forehead the mesh reaches
CHEEKS, CHIN, NOSE_TIP, FOREHEAD = (234, 454), 152, 1, 10
#: the cheekbone points lie on the mesh's outline round the side of the head, a little outside the
#: cheeks' outline as the picture shows it (where the standard's width is measured): on the four
#: packaged portraits their distance was 1.005-1.07 times the hand-measured width, 1.03 on average
CHEEK_WIDTH_SCALE = 0.97
#: the nose ridge and tip (yaw from where they sit between the cheekbones)
NOSE_RIDGE = (168, 197, 5, 4, 1)
#: the model's depth is flatter than a face: a turn reads this many times less in 3-D than from
#: the nose's offset (1.45-1.5 on the calibration person's turned faces)
YAW_3D_GAIN = 1.45
#: how far the nose stands in front of the cheekbones, in half face widths (a turn's offset is about
#: tan(yaw) times this)
YAW_DEPTH = 0.93
#: the nose tip's height between the eye line and the chin (of the eye line's distance to the chin)
#: on a level face, and the degrees of pitch one unit of that ratio is: the calibration person's
#: heads tipped by 22-28 degrees moved it by 0.09 (down) to 0.13 (up)
PITCH_LEVEL_RATIO, PITCH_DEG_PER_RATIO = 0.33, 230.0
#: the middle of the level faces' pitch readings (the mean of the two above): people differ,
#: the three packaged bareheaded people's level faces read -12..-9 (astronaut), +1..+4 (biden, obama)
PITCH_LEVEL_DEG = -4.0
#: a mesh with a face score (logit) below this was placed on something that is not a face
MIN_SCORE = 0.0
#: the square is cut again turned with the head when the first cut reads a roll beyond this (degrees)
ROLL_RECUT_DEG = 3.0


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(1e-9, float(np.linalg.norm(v)))


@dataclass(frozen=True)
class FaceShape:
    """One face's landmarks (frame pixels) and the measures derived from them."""

    points: np.ndarray  # (68, 2) float64, read-only: the iBUG layout picked from the mesh
    mesh: np.ndarray  # (468, 3) float64, read-only: x, y frame pixels, z depth (smaller nearer)
    score: float = 1.0  # the model's face score (a logit; > 0 a face)

    @classmethod
    def of_mesh(cls, mesh: np.ndarray, score: float = 1.0) -> FaceShape:
        """The shape of a 468-point mesh."""
        pts = np.array(mesh[IBUG68, :2], dtype=np.float64)
        pts[17:27] = (mesh[list(BROW_UPPER), :2] + mesh[list(BROW_LOWER), :2]) / 2
        pts.flags.writeable = False
        return cls(pts, mesh, score)

    def moved(self, dx: float, dy: float) -> FaceShape:
        """The same shape shifted by (dx, dy)."""
        pts = self.points + np.array([dx, dy])
        pts.flags.writeable = False
        mesh = self.mesh + np.array([dx, dy, 0.0])
        mesh.flags.writeable = False
        return FaceShape(pts, mesh, self.score)

    def _eye_centre(self, i: int) -> np.ndarray:
        a, b = EYE_CORNERS[i]
        lids = [p for pair in EYE_LIDS[i] for p in pair]
        # the corners and the lids, as the standard's eye centre (the middle of the eye's contour)
        return np.asarray(self.mesh[[a, b, *lids], :2].mean(axis=0))

    @property
    def eyes(self) -> Eyes:
        """Eye centres: the middle of each eye's corners and lids."""
        a, b = self._eye_centre(0), self._eye_centre(1)
        return Eyes((float(a[0]), float(a[1])), (float(b[0]), float(b[1])))

    @property
    def width(self) -> float:
        """Cheek-to-cheek width at the cheekbones (mesh points 234 and 454, ``CHEEK_WIDTH_SCALE``)."""
        a, b = CHEEKS
        return CHEEK_WIDTH_SCALE * float(np.linalg.norm(self.mesh[b, :2] - self.mesh[a, :2]))

    @property
    def centre_x(self) -> float:
        """Horizontal middle of the face (between the cheekbones)."""
        a, b = CHEEKS
        return float((self.mesh[a, 0] + self.mesh[b, 0]) / 2)

    @property
    def brow_y(self) -> float:
        """Height of the brows (the highest of their mean heights)."""
        return float(min(self.points[17:22, 1].mean(), self.points[22:27, 1].mean()))

    @property
    def chin_y(self) -> float:
        """Height of the chin."""
        return float(self.mesh[CHIN, 1])

    @property
    def forehead_y(self) -> float:
        """Height of the top of the forehead the mesh reaches (below the hairline, not the head top)."""
        return float(self.mesh[FOREHEAD, 1])

    @property
    def nose_tip(self) -> tuple[float, float]:
        """The nose tip (frame pixels)."""
        return float(self.mesh[NOSE_TIP, 0]), float(self.mesh[NOSE_TIP, 1])

    def eye_open(self) -> tuple[float, float]:
        """Each eye's lid gap over its width (image-left eye first; open 0.25-0.4, closed below 0.15)."""
        out = []
        for i in (0, 1):
            a, b = EYE_CORNERS[i]
            width = max(1e-6, float(np.linalg.norm(self.mesh[b, :2] - self.mesh[a, :2])))
            gap = np.mean([np.linalg.norm(self.mesh[u, :2] - self.mesh[d, :2]) for u, d in EYE_LIDS[i]])
            out.append(float(gap) / width)
        return out[0], out[1]

    def eye_openness(self) -> float:
        """The less open eye (``eye_open``)."""
        return min(self.eye_open())

    def mouth_openness(self) -> float:
        """Gap between the inner lips over the mouth's width (closed ~0, a smile < 0.15, wide open > 0.3)."""
        m = self.mesh[:, :2]
        gap = np.mean([np.linalg.norm(m[u] - m[d]) for u, d in INNER_LIPS])
        a, b = MOUTH_CORNERS
        return float(gap) / max(1e-6, float(np.linalg.norm(m[b] - m[a])))

    def pose(self) -> tuple[float, float]:
        """(yaw, pitch) in degrees: yaw > 0 turned towards the image's right, pitch > 0 chin up.

        Each is the mean of two readings, one from the mesh's depth and one
        from where the nose tip sits in the picture, which err differently:

        * the face's own axes in 3-D (across from cheekbone to cheekbone,
          down from the top of the forehead to the chin) and the normal square
          to both: how far it leans sideways and up. The model's depth is
          flatter than the face (a turn reads ``1 / YAW_3D_GAIN`` of the nose's
          reading), and a level face of one person reads up to 14 degrees of
          pitch off another's;
        * the nose tip off the middle between the cheekbones over the half
          width (about tan(yaw) times ``YAW_DEPTH``), and its height between
          the eye line and the chin (``PITCH_LEVEL_RATIO``), both measured
          along the cheek line, so a rolled head is neither turned nor tipped.

        Pitch is then centred on ``PITCH_LEVEL_DEG``, the middle of the level
        faces' readings.
        """
        p = self.mesh
        across = _unit(p[CHEEKS[1]] - p[CHEEKS[0]])
        down = p[CHIN] - p[FOREHEAD]
        down = _unit(down - np.dot(down, across) * across)
        # z grows away from the camera: across x down points away, its negative at the camera
        towards = -np.cross(across, down)
        yaw_3d = math.degrees(math.atan2(float(towards[0]), float(-towards[2]))) * YAW_3D_GAIN
        pitch_3d = math.degrees(math.atan2(float(-towards[1]), float(-towards[2])))
        flat = p[:, :2]
        side = _unit(flat[CHEEKS[1]] - flat[CHEEKS[0]])
        half = max(1.0, float(np.linalg.norm(flat[CHEEKS[1]] - flat[CHEEKS[0]])) / 2)
        middle = (flat[CHEEKS[0]] + flat[CHEEKS[1]]) / 2
        # the ridge and the tip together: one misplaced point moves the mean less
        offset = float(np.dot(flat[list(NOSE_RIDGE)].mean(axis=0) - middle, side)) / half
        yaw_2d = math.degrees(math.atan(offset / YAW_DEPTH))
        square = np.array([-side[1], side[0]])
        eye_line = (flat[[*EYE_CORNERS[0], *EYE_CORNERS[1]]]).mean(axis=0)
        to_chin = max(1.0, float(np.dot(flat[CHIN] - eye_line, square)))
        ratio = float(np.dot(flat[NOSE_TIP] - eye_line, square)) / to_chin
        pitch_2d = (PITCH_LEVEL_RATIO - ratio) * PITCH_DEG_PER_RATIO
        pitch = (pitch_3d + pitch_2d) / 2 - PITCH_LEVEL_DEG
        return (yaw_3d + yaw_2d) / 2, max(-90.0, min(90.0, pitch))


class ShapeModel:
    """The face mesh model placing landmarks inside a face box (loaded once per analyser)."""

    def __init__(self) -> None:
        self._model = MeshModel()

    def shape(self, image: np.ndarray, face: Box, prior: FaceShape | None = None) -> FaceShape:
        """The landmarks of the face in ``face`` (a Haar box) of ``image`` (BGR, or gray uint8).

        ``prior``: the same face's last landmarks, moved to where the face
        is now (a followed face). The square is then cut around them, turned
        with the head, as MediaPipe's own tracking does: a followed box keeps
        the size the cascade found, and a person stepping closer would
        outgrow a square cut around it (a chin cut off reads as a lowered
        head). Without it the square is cut around the box, upright first; a
        head rolled beyond ``ROLL_RECUT_DEG`` is cut again turned with it
        (the model wants the face upright).
        """
        bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
        if prior is not None:
            centre, size = square_of_mesh(prior.mesh)
            found = self._model.mesh(bgr, centre, size, roll_of(prior.mesh))
            return FaceShape.of_mesh(found.points, found.score)
        centre, size = square_of_box(face.x, face.y, face.w, face.h)
        found = self._model.mesh(bgr, centre, size)
        roll = roll_of(found.points)
        if abs(roll) > ROLL_RECUT_DEG:
            found = self._model.mesh(bgr, centre, size, roll)
        return FaceShape.of_mesh(found.points, found.score)


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
    eye_open_left: float = 0.0  # the image-left eye's lid gap over its width
    eye_open_right: float = 0.0
    forehead_y: float = 0.0  # the top of the forehead the mesh reaches (frame pixels)
    mouth_dark: float = 1.0  # the gap between the lips' luminance over the cheeks' (``mouth.py``; 1: not measured)

    @classmethod
    def of(cls, shape: FaceShape, mouth_dark: float = 1.0) -> ShapeMeasures:
        """The measures of ``shape``; ``mouth_dark`` measured on its pixels (``mouth.mouth_darkness``)."""
        yaw, pitch = shape.pose()
        left, right = shape.eye_open()
        return cls(shape.width, shape.centre_x, shape.chin_y, yaw, pitch, min(left, right),
                   shape.mouth_openness(), left, right, shape.forehead_y, mouth_dark)
