"""The face mesh's landmarks and the measures taken on them, on real faces made into scenes.

The landmarks come from MediaPipe's face mesh model read out of the installed
``mediapipe`` package and run by OpenCV (``kiosk.portrait.mesh``); these pin
what the checks are judged on: the eye line level on a level face, the face
width the standard means (cheekbone to cheekbone, not the detection box),
each eye's opening, the mouth, and yaw and pitch with hints that point the
right way.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from functools import cache

import numpy as np
import pytest

from kiosk.config import CameraSection, PortraitSection
from kiosk.portrait import Analysis, Analyzer
from kiosk.portrait import mesh as mesh_module
from kiosk.portrait.checks import MAX_MOUTH_OPEN, MAX_PITCH_DEG, MAX_YAW_DEG, MIN_EYE_OPEN
from kiosk.portrait.shape import IBUG68, FaceShape
from kiosk.scene import Landmarks, Pose, Scene, defects, natural_motion

W, H = 960, 540
GOOD = Pose(dy=0.08, scale=0.85)


@cache
def _scene() -> Scene:
    return Scene(W, H, "blue")


@cache
def _analyzer() -> Analyzer:
    return Analyzer(PortraitSection(), frame_guard=0.0)


def analyse(frame: np.ndarray) -> Analysis:
    analyzer = _analyzer()
    analyzer.reset()
    return analyzer.analyse(frame)


def good(pose: Pose = GOOD) -> tuple[np.ndarray, Landmarks]:
    return _scene().render(pose), _scene().landmarks(pose)


def values(analysis: Analysis) -> dict[str, float | None]:
    return {c.name: c.value for c in analysis.checks}


def test_the_model_file_is_read_from_the_package_and_the_runtime_never_imported() -> None:
    path = mesh_module.model_path()
    assert path.endswith("face_landmark.tflite")
    spec = importlib.util.find_spec("mediapipe")
    assert spec is not None and spec.submodule_search_locations
    assert any(path.startswith(root) for root in spec.submodule_search_locations)
    analysis = analyse(good()[0])
    assert analysis.shape is not None
    # the runtime (numpy < 2, protobuf) stays out of the process: only the file is read
    assert "mediapipe" not in sys.modules


def test_a_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mesh_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(mesh_module.MeshModelError) as err:
        mesh_module.model_path()
    assert "no-deps mediapipe" in str(err.value.detail)
    assert err.value.key == "portrait.error.detector"


def test_a_level_face_measures_level_frontal_open_eyed_and_closed_mouthed() -> None:
    frame, truth = good()
    analysis = analyse(frame)
    assert analysis.ok, analysis.failing()
    g = analysis.shape
    assert g is not None and analysis.eyes is not None
    assert abs(analysis.eyes.angle_deg) < 1.5
    assert abs(g.yaw) < 3.0 and abs(g.pitch) < MAX_PITCH_DEG
    assert g.eye_open_left > 0.25 and g.eye_open_right > 0.25 and g.eye_open == min(g.eye_open_left,
                                                                                    g.eye_open_right)
    assert g.mouth_open < 0.2
    # cheekbone to cheekbone: within 4 % of the hand-measured width, not the detection box
    assert abs(g.width / truth.face_width - 1) < 0.04
    assert analysis.face is not None and abs(g.width - truth.face_width) < abs(analysis.face.w - truth.face_width)
    for got, want in zip((analysis.eyes.left, analysis.eyes.right), truth.eyes, strict=True):
        assert np.hypot(got[0] - want[0], got[1] - want[1]) < 0.03 * truth.face_width
    assert abs(g.chin_y - truth.chin[1]) < 0.06 * truth.face_width
    # the top of the forehead the mesh reaches is between the head top and the eyes
    assert truth.head_top[1] < g.forehead_y < analysis.eyes.line_y


@pytest.mark.parametrize("roll", [12.0, -12.0])
def test_a_rolled_head_is_measured_upright(roll: float) -> None:
    frame, truth = good(Pose(dy=0.08, scale=0.85, roll=roll))
    analysis = analyse(frame)
    assert analysis.eyes is not None and analysis.shape is not None
    want = np.degrees(np.arctan2(truth.eyes[1][1] - truth.eyes[0][1], truth.eyes[1][0] - truth.eyes[0][0]))
    assert abs(analysis.eyes.angle_deg - want) < 2.0
    # a rolled head is neither turned nor tipped
    assert abs(analysis.shape.yaw) < 5.0 and abs(analysis.shape.width / truth.face_width - 1) < 0.08
    assert analysis.first_hint() == "portrait.hint.straighten"


@pytest.mark.parametrize(("shift", "hint"), [(0.25, "portrait.hint.turn_right"), (-0.25, "portrait.hint.turn_left")])
def test_a_turned_head_is_refused_and_told_the_way_back(shift: float, hint: str) -> None:
    frame, marks = good()
    analysis = analyse(defects.warp_face(frame, marks, shift, 0.0))
    yaw = values(analysis)["yaw"]
    # the nose towards the image's right reads positive; the student turns to their own right
    assert yaw is not None and np.sign(yaw) == np.sign(shift) and abs(yaw) > MAX_YAW_DEG
    assert analysis.first_hint() == hint


@pytest.mark.parametrize(("degrees", "hint"), [(28.0, "portrait.hint.chin_down"), (-28.0, "portrait.hint.chin_up")],
                         ids=["chin-up", "chin-down"])
def test_a_tipped_head_is_refused_and_told_the_way_back(degrees: float, hint: str) -> None:
    frame, marks = good()
    analysis = analyse(defects.turn_head(frame, marks, pitch_deg=degrees))
    pitch = values(analysis)["pitch"]
    assert pitch is not None and np.sign(pitch) == np.sign(degrees) and abs(pitch) > MAX_PITCH_DEG
    assert analysis.first_hint() == hint


def test_closed_eyes_are_refused() -> None:
    analysis = analyse(_scene().render(Pose(dy=0.08, scale=0.85, eyes_closed=True)))
    assert "eyes" in {c.name for c in analysis.failing()}
    assert analysis.first_hint() == "portrait.hint.eyes_closed"


def test_an_open_mouth_is_refused_on_the_lips() -> None:
    frame, marks = good()
    defects.open_mouth(frame, marks)
    analysis = analyse(frame)
    mouth = values(analysis)["mouth"]
    assert mouth is not None and mouth > MAX_MOUTH_OPEN
    assert analysis.first_hint() == "portrait.hint.mouth"


def test_closed_lids_read_closed() -> None:
    # a mesh whose lids meet: each eye's opening is ~0, below the threshold
    analysis = analyse(good()[0])
    assert analysis.shape is not None
    base = _analyzer().shapes.shape(good()[0], analysis.face)  # type: ignore[arg-type]
    mesh = base.mesh.copy()
    for upper, lower in ((160, 144), (159, 145), (158, 153), (385, 380), (386, 374), (387, 373)):
        mesh[[upper, lower], :2] = mesh[[upper, lower], :2].mean(axis=0)
    closed = FaceShape.of_mesh(mesh)
    assert max(closed.eye_open()) < MIN_EYE_OPEN / 3


def test_the_68_point_layout_is_picked_from_the_mesh() -> None:
    analysis = analyse(good()[0])
    shape = _analyzer().shapes.shape(good()[0], analysis.face)  # type: ignore[arg-type]
    assert shape.points.shape == (68, 2) and shape.mesh.shape == (468, 3) and len(set(IBUG68.tolist())) == 68
    p = shape.points
    # jaw left to right, brows above the eyes, eyes above the nose tip above the mouth above the chin
    assert p[0, 0] < p[8, 0] < p[16, 0]
    assert p[17:27, 1].mean() < p[36:48, 1].mean() < p[30, 1] < p[48:68, 1].mean() < p[8, 1]
    assert not shape.points.flags.writeable and not shape.mesh.flags.writeable


def test_json_shows_the_landmark_measures() -> None:
    report = analyse(good()[0]).to_json()
    marks = report["landmarks"]
    assert set(marks) >= {"face_width", "yaw_deg", "pitch_deg", "eye_open", "mouth_open", "tilt_deg", "chin_y"}
    assert len(marks["eye_open"]) == 2 and report["face_width"] == marks["face_width"]


@pytest.mark.parametrize("fps", sorted({CameraSection().fps, 15}))
@pytest.mark.parametrize(("defect", "check"), [("turn", "yaw"), ("mouth", "mouth")])
def test_a_landmark_defect_on_a_held_face_is_hinted_within_half_a_second(defect: str, check: str, fps: int) -> None:
    # a followed face's mesh is taken at a lower rate (tracking.MESH_HOLD_S): the hint still comes in time
    analyzer = Analyzer(PortraitSection())
    scene = _scene()

    def frame(t: float, bad: bool) -> np.ndarray:
        pose = natural_motion(GOOD, t)
        image = scene.render(pose, t=t)
        if not bad:
            return image
        marks = scene.landmarks(pose)
        if defect == "turn":
            return defects.warp_face(image, marks, 0.3, 0.0)
        defects.open_mouth(image, marks)
        return image

    held = fps // 2
    for i in range(held):
        assert analyzer.analyse(frame(i / fps, False), now=i / fps).ok
    for n in range(1, fps + 1):
        t = (held + n - 1) / fps
        if check in {c.name for c in analyzer.analyse(frame(t, True), now=t).failing()}:
            break
    assert n <= math.floor(0.5 * fps), f"{check}: {n} frames at {fps} fps"


def test_a_half_open_mouth_is_open_when_its_gap_is_dark_and_a_smile_with_teeth_is_not() -> None:
    from kiosk.portrait.checks import _mouth
    from kiosk.portrait.shape import ShapeMeasures

    smile = ShapeMeasures(150.0, 400.0, 500.0, 0.0, 0.0, 0.3, 0.22, 0.3, 0.3, 250.0, mouth_dark=0.95)
    half_open = ShapeMeasures(150.0, 400.0, 500.0, 0.0, 0.0, 0.3, 0.22, 0.3, 0.3, 250.0, mouth_dark=0.3)
    closed = ShapeMeasures(150.0, 400.0, 500.0, 0.0, 0.0, 0.3, 0.01, 0.3, 0.3, 250.0, mouth_dark=0.45)
    assert _mouth(smile).passed and _mouth(closed).passed
    assert not _mouth(half_open).passed and _mouth(half_open).hint_key == "portrait.hint.mouth"


def test_the_gap_of_a_drawn_open_mouth_is_dark() -> None:
    frame, marks = good()
    closed = analyse(frame).shape
    defects.open_mouth(frame, marks)
    opened = analyse(frame).shape
    assert closed is not None and opened is not None
    assert closed.mouth_dark > 0.8 and opened.mouth_dark < 0.4
