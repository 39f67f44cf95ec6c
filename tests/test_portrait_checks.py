"""Each guidance check flags exactly what it should, on real faces made into scenes.

The person is the packaged portrait (``kiosk.scene``) composited on a backdrop;
every variation changes one thing (where the person stands, the light, the
camera, the backdrop) and the test asserts which checks fail and which hint
comes first. Stills are judged as ``kiosk portrait`` judges them: a fresh
analyser, no smoothing history, no extra room at the frame's edges.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np
import pytest

from kiosk.config import PortraitSection
from kiosk.portrait import Analysis, Analyzer, BadFrame
from kiosk.portrait.analysis import MAX_FRAME_SIDE
from kiosk.scene import Pose, Scene

W, H = 960, 540
#: the baseline: a person a comfortable distance away, well placed
GOOD = Pose(dy=0.08, scale=0.85)


@cache
def _scene(background: str = "blue") -> Scene:
    return Scene(W, H, background)


def analyse(frame: np.ndarray, **settings: object) -> Analysis:
    return Analyzer(PortraitSection(**settings), frame_guard=0.0).analyse(frame)  # type: ignore[arg-type]


def failing(analysis: Analysis) -> set[str]:
    return {c.name for c in analysis.failing()}


def test_good_pose_passes_every_check() -> None:
    analysis = analyse(_scene().render(GOOD))
    assert analysis.ok, analysis.failing()
    names = [c.name for c in analysis.checks]
    assert names == ["face", "distance", "centre", "headwear", "yaw", "pitch", "tilt", "eyes", "mouth", "exposure",
                     "lighting", "sharpness", "background", "backdrop_light", "background_colour", "clothing"]
    assert analysis.first_hint() is None


def test_measured_landmarks_match_the_scene() -> None:
    scene = _scene()
    truth = scene.landmarks(GOOD)
    analysis = analyse(scene.render(GOOD))
    assert analysis.face is not None and analysis.eyes is not None and analysis.head_top is not None
    fx, _fy, fw, _ = truth.face
    assert abs(analysis.face.w - fw) < 0.12 * fw
    # the face width the photo is framed on is cheek to cheek, not the detection box
    assert analysis.shape is not None and abs(analysis.shape.width - truth.face_width) < 0.05 * truth.face_width
    assert abs(analysis.face.cx - (fx + fw / 2)) < 0.05 * fw
    for got, want in zip((analysis.eyes.left, analysis.eyes.right), truth.eyes, strict=True):
        # the eyes, not the brows (which sit about 0.12 face widths higher)
        assert abs(got[0] - want[0]) < 0.03 * fw and abs(got[1] - want[1]) < 0.03 * fw
    assert abs(analysis.head_top - truth.head_top[1]) < 0.04 * fw


@pytest.mark.parametrize(("pose", "check", "hint"), [
    (Pose(dx=0.4, dy=0.08, scale=0.85), "centre", "portrait.hint.move_centre"),
    (Pose(dx=-0.4, dy=0.08, scale=0.85), "centre", "portrait.hint.move_centre"),
    (Pose(dy=0.08, scale=0.45), "distance", "portrait.hint.closer"),
    (Pose(dy=0.08, scale=1.6), "distance", "portrait.hint.step_back"),
    (Pose(dy=-0.12, scale=0.85), "centre", "portrait.hint.move_down"),
    (Pose(dy=0.3, scale=0.85), "centre", "portrait.hint.move_up"),
    (Pose(dy=0.08, scale=0.85, roll=9), "tilt", "portrait.hint.straighten"),
    (Pose(dy=0.08, scale=0.85, roll=-10), "tilt", "portrait.hint.straighten"),
    (Pose(dy=0.08, scale=0.85, brightness=0.3), "exposure", "portrait.hint.too_dark"),
    (Pose(dy=0.08, scale=0.85, brightness=1.5), "exposure", "portrait.hint.too_bright"),
    (Pose(dy=0.08, scale=0.85, blur=3.0), "sharpness", "portrait.hint.hold_still"),
    (Pose(dy=0.08, scale=0.85, side_light=0.8), "lighting", "portrait.hint.uneven_light"),
    (Pose(dy=0.08, scale=0.85, coat_bgr=(255, 197, 100)), "clothing", "portrait.hint.clothing"),
], ids=["right", "left", "far", "close", "high", "low", "roll", "roll-back", "dark", "bright", "blur",
        "side-light", "blue-coat"])
def test_one_change_fails_one_check(pose: Pose, check: str, hint: str) -> None:
    analysis = analyse(_scene().render(pose))
    assert failing(analysis) == {check}, analysis.failing()
    assert analysis.first_hint() == hint
    assert not analysis.ok


def test_strong_roll_is_found_and_told_to_straighten() -> None:
    # beyond what the frontal cascade sees upright: found turned back
    analysis = analyse(_scene().render(Pose(dy=0.08, scale=0.85, roll=15)))
    assert failing(analysis) == {"tilt"}
    tilt = next(c for c in analysis.checks if c.name == "tilt")
    assert tilt.value is not None and tilt.value < -10  # image-right eye higher: negative


def test_tilt_sign_follows_the_roll() -> None:
    left = analyse(_scene().render(Pose(dy=0.08, scale=0.85, roll=-9)))
    tilt = next(c for c in left.checks if c.name == "tilt")
    assert tilt.value is not None and tilt.value > 5


def test_small_roll_and_noise_pass() -> None:
    # (the packaged astronaut photo is soft already, her face 90 px wide in it: a little blur only)
    for pose in (Pose(dy=0.08, scale=0.85, roll=-2), Pose(dy=0.08, scale=0.85, noise=3.0),
                 Pose(dy=0.08, scale=0.85, blur=0.4), Pose(dy=0.08, scale=0.85, side_light=0.2),
                 Pose(dy=0.1, scale=0.7, dx=0.1)):
        analysis = analyse(_scene().render(pose))
        assert analysis.ok, (pose, analysis.failing())


@pytest.mark.parametrize("background", ["white", "grey"])
def test_wrong_backdrop_colour(background: str) -> None:
    analysis = analyse(_scene(background).render(GOOD))
    assert failing(analysis) == {"background_colour"}
    assert analysis.first_hint() == "portrait.hint.background_colour"


@pytest.mark.parametrize("background", ["white", "grey"])
def test_backdrop_colour_follows_the_batch(background: str) -> None:
    assert analyse(_scene(background).render(GOOD), background=background).ok


def test_busy_backdrop_is_not_even_and_head_top_is_not_guessed() -> None:
    analysis = analyse(_scene("busy").render(GOOD))
    assert "background" in failing(analysis)
    assert failing(analysis) <= {"background", "background_colour"}
    assert analysis.head_top is None


@pytest.mark.parametrize("kind", ["shadow", "gradient"])
def test_shadow_or_gradient_on_the_backdrop_is_not_even(kind: str) -> None:
    frame = _scene().render(GOOD).astype(np.float32)
    if kind == "shadow":
        frame[:, 590:] *= 0.75  # the head's shadow on the backdrop, beside it inside the crop
    else:
        frame *= np.linspace(0.6, 1.05, W, dtype=np.float32)[None, :, None]  # light falling off to one side
    analysis = analyse(np.clip(frame, 0, 255).astype(np.uint8))
    assert failing(analysis) == {"backdrop_light"}
    assert analysis.first_hint() == "portrait.hint.backdrop_shadow"


def test_a_shadow_outside_the_crop_does_not_matter() -> None:
    frame = _scene().render(GOOD).astype(np.float32)
    frame[:, 800:] *= 0.75  # beyond the photo's right edge
    assert analyse(np.clip(frame, 0, 255).astype(np.uint8)).ok


def test_two_people() -> None:
    analysis = analyse(_scene().render_two_people())
    assert [c.name for c in analysis.checks] == ["face"]
    assert analysis.checks[0].value == 2
    assert analysis.first_hint() == "portrait.hint.one_person"


def test_nobody() -> None:
    analysis = analyse(_scene().render(Pose(present=False)))
    assert [(c.name, c.passed) for c in analysis.checks] == [("face", False)]
    assert analysis.first_hint() == "portrait.hint.no_face"
    assert analysis.face is None and not analysis.ok


def test_face_cut_by_the_frame_edge() -> None:
    analysis = analyse(_scene().render(Pose(dx=0.45, dy=0.08, scale=0.85)))
    assert not analysis.ok
    assert analysis.first_hint() in ("portrait.hint.no_face", "portrait.hint.move_centre")


@pytest.mark.parametrize(("pose", "hint"), [(Pose(dy=0.08, scale=0.85, eyes_closed=True), "portrait.hint.eyes_closed"),
                                            # a reflection that hides the iris without saturating
                                            (Pose(dy=0.08, scale=0.85, glare=0.5), "portrait.hint.eyes_closed"),
                                            (Pose(dy=0.08, scale=0.85, glare=1.0), "portrait.hint.glare")],
                         ids=["closed", "some-glare", "strong-glare"])
def test_closed_eyes_or_glare_are_refused_with_their_hint(pose: Pose, hint: str) -> None:
    analysis = analyse(_scene().render(pose))
    assert failing(analysis) == {"eyes"}
    assert analysis.first_hint() == hint


def test_painted_lids_are_closed_eyes() -> None:
    scene = _scene()
    frame = scene.render(GOOD)
    truth = scene.landmarks(GOOD)
    x, y, w, h = truth.face
    lid = (frame[int(y + 0.62 * h), int(x + 0.3 * w)] * 0.8).tolist()  # skin, a little shaded
    for ex, ey in truth.eyes:  # paint the lids shut, lashes a dark line along their edge
        cv2.ellipse(frame, (int(ex), int(ey)), (int(w * 0.11), int(w * 0.06)), 0, 0, 360, lid, -1)
        cv2.ellipse(frame, (int(ex), int(ey)), (int(w * 0.1), int(w * 0.04)), 0, 20, 160, (40, 40, 50), 2)
    analysis = analyse(cv2.GaussianBlur(frame, (0, 0), 0.4))
    assert failing(analysis) == {"eyes"}
    assert analysis.first_hint() == "portrait.hint.eyes_closed"


def test_real_photo_with_a_busy_background() -> None:
    data = pytest.importorskip("skimage.data")
    frame = np.ascontiguousarray(data.astronaut()[:, :, ::-1])
    analysis = analyse(frame)
    assert analysis.face is not None and analysis.eyes is not None
    assert abs(analysis.eyes.angle_deg) < 5
    bad = failing(analysis)
    assert "background" in bad or "background_colour" in bad
    assert "face" not in bad and "eyes" not in bad and "exposure" not in bad


def test_every_failing_check_has_a_bilingual_hint() -> None:
    from kiosk.text import table

    strings = table()
    frames = [_scene().render(Pose(dy=0.08, scale=s)) for s in (0.45, 1.6)] + [_scene("busy").render(GOOD)]
    for frame in frames:
        for check in analyse(frame).failing():
            assert check.hint_key in strings, check


def test_check_json_is_plain() -> None:
    import json

    analysis = analyse(_scene().render(GOOD))
    data = json.loads(json.dumps(analysis.to_json()))
    assert data["ok"] is True and len(data["checks"]) == 16
    assert all(set(c) == {"name", "passed", "value", "hint", "detail"} for c in data["checks"])


@pytest.mark.parametrize("frame", [np.zeros((40, 40, 3), np.uint8), np.zeros((100, 100), np.uint8),
                                   np.zeros((100, 100, 3), np.float32), "not an array",
                                   # sides OpenCV's warps and resizes cannot take (a side over 32767,
                                   # a detection copy of no rows)
                                   np.zeros((50_000, 64, 3), np.uint8), np.zeros((64, 50_000, 3), np.uint8)],
                         ids=["tiny", "gray", "float", "not-an-array", "very-tall", "very-wide"])
def test_bad_frames_are_refused_with_a_message(frame: object) -> None:
    with pytest.raises(BadFrame) as info:
        Analyzer(PortraitSection()).analyse(frame)  # type: ignore[arg-type]
    assert info.value.message("en")
    assert "{" not in info.value.message("en") and "{" not in info.value.message("zh")


def test_a_long_strip_within_the_limit_is_analysed() -> None:
    for shape in ((MAX_FRAME_SIDE, 64, 3), (64, MAX_FRAME_SIDE, 3)):
        analysis = Analyzer(PortraitSection()).analyse(np.zeros(shape, np.uint8))
        assert analysis.first_hint() == "portrait.hint.no_face"
