"""MediaPipe's face mesh model (468 points in 3-D), run by OpenCV's own TFLite reader.

The model file (``face_landmark.tflite``, Apache-2.0) is read from the
installed ``mediapipe`` package, which is installed without its dependencies
(``pip install --no-deps mediapipe==0.10.21``: its own ``opencv-contrib-python``
would replace the headless ``cv2``). The mediapipe runtime is never imported
(it wants numpy < 2 and protobuf); ``cv2.dnn.readNetFromTFLite`` runs the
network in about 5 ms of one core. Nothing is downloaded.

The network takes a 192x192 RGB square in [0, 1] with the face upright in
its middle, the face about two thirds of its width (MediaPipe's own pipeline
cuts the face's box enlarged 1.5 times), and gives 468 points (x, y in the
square's pixels, z depth on about the scale of x, smaller nearer the camera)
and a face score (a logit). ``MeshModel.mesh`` cuts that square from a
frame around a face box, turned by the head's roll, and maps the points back
into frame pixels.
"""

from __future__ import annotations

import importlib.util
import math
import os
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from kiosk.errors import KioskError

#: the network's input side (pixels)
INPUT = 192
#: the model file inside the mediapipe package
MODEL_FILE = ("modules", "face_landmark", "face_landmark.tflite")
#: the square cut for the network, in widths of the Haar face box it is cut around (MediaPipe cuts
#: 1.5 times its own detector's box, which is narrower; at 1.5 Haar boxes the chin of three of the
#: four packaged people fell outside the square and was placed 3-6 % of a face width too high, at
#: 1.7 within 2.4 %, with the eye centres within 1.3 % of the hand-measured ones)
CROP_PER_BOX = 1.7
#: the square's centre below the Haar box's centre, in box widths
CROP_SHIFT_Y = 0.05
#: the square cut around a face's last mesh, in cheekbone-to-cheekbone widths (points 234, 454),
#: around the mesh's centroid: as large around the face as ``CROP_PER_BOX`` Haar boxes. The
#: network's reading depends on how large the face is in its square (MediaPipe's own tracking cuts
#: 1.5 times the mesh's bounding box, which read a head 3-4 degrees further down than the stills
#: the thresholds were set on, and a square sized by the mesh's extent fed back on itself)
CROP_PER_MESH = 1.9
#: a face score (logit) below this is not a face (MediaPipe's own threshold 0.5 on the sigmoid is 0)
MIN_FACE_SCORE = 0.0


class MeshModelError(KioskError):
    """The face mesh model cannot be loaded (the mediapipe package is not installed)."""

    default_key = "portrait.error.detector"


def model_path() -> str:
    """Path of ``face_landmark.tflite`` inside the installed ``mediapipe`` package (never imported)."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise MeshModelError(detail="mediapipe is not installed (pip install --no-deps mediapipe==0.10.21)")
    for root in spec.submodule_search_locations:
        path = os.path.join(root, *MODEL_FILE)
        if os.path.isfile(path):
            return path
    raise MeshModelError(detail=f"{'/'.join(MODEL_FILE)} not in the mediapipe package")


@cache
def _model_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


@dataclass(frozen=True)
class Mesh:
    """468 face points in frame pixels (x, y) and depth (z, frame pixels, smaller nearer), and the face score."""

    points: np.ndarray  # (468, 3) float64, read-only
    score: float


class MeshModel:
    """The face mesh network; one per analyser (an OpenCV net is not shared between threads)."""

    def __init__(self) -> None:
        path = model_path()
        try:
            self._net = cv2.dnn.readNetFromTFLite(np.frombuffer(_model_bytes(path), np.uint8))
        except cv2.error as exc:
            raise MeshModelError(detail=f"{path}: {exc}") from None
        self._outputs = list(self._net.getUnconnectedOutLayersNames())

    def mesh(self, bgr: np.ndarray, centre: tuple[float, float], size: float, roll_deg: float = 0.0) -> Mesh:
        """The mesh of the face in the square of side ``size`` around ``centre``, turned by ``roll_deg``.

        ``roll_deg`` is the eye line's angle (positive when the image-right
        eye is lower): the square is cut turned with it, so the network sees
        the face upright.
        """
        scale = INPUT / max(1.0, size)
        # frame -> square: rotate about the centre by the roll, scale, move the centre to the middle
        m = cv2.getRotationMatrix2D(centre, roll_deg, scale)
        m[0, 2] += INPUT / 2 - centre[0]
        m[1, 2] += INPUT / 2 - centre[1]
        square = cv2.warpAffine(bgr, m, (INPUT, INPUT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        blob = cv2.dnn.blobFromImage(square, 1 / 255.0, (INPUT, INPUT), swapRB=True)
        self._net.setInput(blob)
        outs = dict(zip(self._outputs, self._net.forward(self._outputs), strict=True))
        raw = next(o for o in outs.values() if o.size == 468 * 3).reshape(468, 3).astype(np.float64)
        score = float(next(o for o in outs.values() if o.size == 1).reshape(-1)[0])
        back = cv2.invertAffineTransform(m)
        xy = raw[:, :2] @ back[:, :2].T + back[:, 2]
        pts = np.column_stack([xy, raw[:, 2] / scale])
        pts.flags.writeable = False
        return Mesh(pts, score)


def square_of_box(x: float, y: float, w: float, h: float) -> tuple[tuple[float, float], float]:
    """The square (centre, side) the network is given for a Haar face box."""
    return (x + w / 2, y + h / 2 + CROP_SHIFT_Y * w), CROP_PER_BOX * w


def square_of_mesh(points: np.ndarray) -> tuple[tuple[float, float], float]:
    """The square (centre, side) the network is given for a face whose mesh is ``points`` (its last one)."""
    centre = points[:, :2].mean(axis=0)
    width = float(np.linalg.norm(points[454, :2] - points[234, :2]))
    return (float(centre[0]), float(centre[1])), CROP_PER_MESH * width


def roll_of(points: np.ndarray) -> float:
    """The eye line's angle (degrees, positive when the image-right eye is lower) from mesh points."""
    a, b = points[33, :2] + points[133, :2], points[362, :2] + points[263, :2]
    return math.degrees(math.atan2(float(b[1] - a[1]), float(b[0] - a[0])))
