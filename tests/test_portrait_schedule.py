"""The slower checks run in turns on a followed face, and their hints still come within half a second.

A person holds still in front of the station; then a defect appears (a hat is
put on, a poster is hung beside the head, a shadow falls on the backdrop, the
coat turns backdrop blue, a second person steps in), at a few points of the
slower measures' turns. Counted in frames at the preview's rate, never timed:
the check meant to catch it must fail within half a second's worth of frames. The standard photo judges the held checks
again on its capture.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from functools import cache, lru_cache
from itertools import pairwise

import numpy as np
import pytest

from kiosk.config import CameraSection, PortraitSection
from kiosk.portrait import Analyzer, FramingError, make_photo
from kiosk.portrait.schedule import PERIODS, Schedule
from kiosk.scene import Pose, Scene, defects, natural_motion

GOOD = Pose(dy=0.08, scale=0.85)
#: the camera's configured rate, and a slow one
RATES = sorted({CameraSection().fps, 15})
HINT_WITHIN_S = 0.5

Draw = Callable[[Scene, Pose, float], np.ndarray]


@cache
def _scene() -> Scene:
    return Scene(960, 540)


def _drawn(draw: Callable[[np.ndarray, object], None]) -> Draw:
    def render(scene: Scene, pose: Pose, t: float) -> np.ndarray:
        frame = _good(scene, pose, t)
        draw(frame, scene.landmarks(natural_motion(pose, t)))
        return frame
    return render


@lru_cache(maxsize=128)
def _good_frame(pose: Pose, t: float) -> np.ndarray:
    frame = _scene().render(natural_motion(pose, t), t=t)
    frame.flags.writeable = False
    return frame


def _good(scene: Scene, pose: Pose, t: float) -> np.ndarray:
    # the scene draws the same frame for the same pose and time, and the defect tests hold the same
    # good frames again and again: each is drawn once (a copy each time, for defects drawn on it)
    assert scene is _scene()
    return _good_frame(pose, t).copy()


DEFECTS: dict[str, tuple[str, Draw, Pose]] = {
    "hat": ("headwear", _drawn(lambda f, m: defects.hat(f, m, np.random.default_rng(0))), GOOD),
    "poster": ("background", _drawn(lambda f, m: defects.clutter(f, m, np.random.default_rng(0), kind=0)), GOOD),
    "shadow": ("backdrop_light", _drawn(lambda f, m: defects.shadow(f, m, np.random.default_rng(0))), GOOD),
    "blue coat": ("clothing", lambda s, p, t: _good(s, replace(p, coat_bgr=(255, 197, 100)), t), GOOD),
    "second person": ("face", lambda s, p, t: s.render_people(
        [natural_motion(p, t), Pose(dx=0.22, dy=0.03, scale=0.75)], t=t), Pose(dx=-0.2, scale=0.8)),
}


def frames_to_hint(check: str, draw: Draw, pose: Pose, fps: int, held: int) -> int | None:
    """Frames from the defect's appearance after ``held`` good frames until ``check`` fails (None: not in 2 s)."""
    analyzer = Analyzer(PortraitSection())
    scene = _scene()
    for i in range(held):
        analysis = analyzer.analyse(_good(scene, pose, i / fps), now=i / fps)
        assert analysis.ok, analysis.first_hint()
    for n in range(2 * fps):
        t = (held + n) / fps
        analysis = analyzer.analyse(draw(scene, pose, t), now=t)
        if check in {c.name for c in analysis.failing()}:
            return n + 1
    return None


@pytest.mark.parametrize("fps", RATES)
@pytest.mark.parametrize("defect", list(DEFECTS))
def test_a_defect_on_a_held_face_is_hinted_within_half_a_second(defect: str, fps: int) -> None:
    check, draw, pose = DEFECTS[defect]
    # the defect appears at several points of the slower measures' turns (the worst is just after a turn)
    longest = max(p for name, p in PERIODS.items() if name != "anchor")
    for offset in sorted({round(f * longest * fps) for f in (0.0, 0.45, 0.9)}):
        # half a second held: the face is followed and the turns are under way
        frames = frames_to_hint(check, draw, pose, fps, fps // 2 + offset)
        assert frames is not None, f"{check} never failed"
        # the n-th frame after the defect appeared is n frame intervals after it, at the latest
        assert frames <= math.floor(HINT_WITHIN_S * fps), f"{check}: {frames} frames at {fps} fps (+{offset})"


def test_a_followed_face_takes_at_most_one_slower_measure_per_frame() -> None:
    analyzer = Analyzer(PortraitSection())
    fresh = [analyzer.analyse(_good(_scene(), GOOD, i / 30), now=i / 30).fresh for i in range(60)]
    assert fresh[0] == {"crown", "backdrop"}  # a face just found is measured whole
    assert all(len(f) <= 1 for f in fresh[1:])
    # and each is taken again within its period (and a frame)
    for name in ("crown", "backdrop"):
        turns = [i for i, f in enumerate(fresh) if name in f]
        assert max(b - a for a, b in pairwise(turns)) <= PERIODS[name] * 30 + 2


def test_the_schedule_takes_a_moved_face_afresh_first() -> None:
    from kiosk.portrait.face import Box

    schedule = Schedule()
    face = Box(100, 100, 200, 200)
    schedule.all_done(0.0, face)
    assert schedule.pick(0.05, face) is None  # nothing due yet
    moved = Box(160, 100, 200, 200)
    assert schedule.pick(0.05, moved) in ("crown", "backdrop")
    assert schedule.done("crown", 0.05, moved) is True  # its old value is to be replaced, not averaged
    assert schedule.pick(0.08, moved) == "backdrop"


def test_the_photo_judges_the_held_checks_again_on_its_capture() -> None:
    settings = PortraitSection()
    analyzer = Analyzer(settings)
    analysis = None
    for i in range(20):
        analysis = analyzer.analyse(_good(_scene(), GOOD, i / 30), now=i / 30)
        if i > 2 and "crown" not in analysis.fresh:
            break
    assert analysis is not None and analysis.ok and "crown" not in analysis.fresh
    capture = _scene().render(GOOD)
    # the verdict held from earlier frames said bareheaded; the capture has a cap on
    capped = capture.copy()
    defects.hat(capped, _scene().landmarks(GOOD), np.random.default_rng(0))
    with pytest.raises(FramingError) as refused:
        make_photo(capped, analysis, settings, detector=analyzer.detector, shapes=analyzer.shapes)
    assert refused.value.key == "portrait.hint.headwear"
    photo = make_photo(capture, analysis, settings, detector=analyzer.detector, shapes=analyzer.shapes)
    assert "headwear" in photo.geometry["rechecked"]


def test_a_still_is_not_judged_twice() -> None:
    settings = PortraitSection()
    analyzer = Analyzer(settings, frame_guard=0.0)
    capture = _scene().render(GOOD)
    analysis = analyzer.analyse(capture)
    assert analysis.fresh == {"crown", "backdrop"}
    photo = make_photo(capture, analysis, settings, detector=analyzer.detector, shapes=analyzer.shapes)
    assert photo.geometry["rechecked"] == []


def _whole_frame_searches(analyzer: Analyzer) -> list[int]:
    """Counts the analyser's whole-frame cascade searches (a search given no size range)."""
    calls = [0]
    faces = analyzer.detector.faces

    def counted(small_gray: np.ndarray, k: float, size: object = None, step: float = 1.1) -> list:
        calls[0] += size is None
        return faces(small_gray, k, size, step)  # type: ignore[arg-type]

    analyzer.detector.faces = counted  # type: ignore[method-assign]
    return calls


@pytest.mark.parametrize("roll", [0.0, 18.0], ids=["upright", "rolled"])
def test_a_held_face_is_found_once_and_then_followed(roll: float) -> None:
    analyzer = Analyzer(PortraitSection())
    searches = _whole_frame_searches(analyzer)
    pose = replace(GOOD, roll=roll)
    found = [analyzer.analyse(_good(_scene(), pose, i / 30), now=i / 30).face for i in range(60)]
    assert all(f is not None for f in found)
    # the cascade the upright head needs once; a rolled one, which the near search cannot see, a few times
    assert searches[0] <= (1 if roll == 0 else 4)


def test_a_followed_face_is_measured_as_finely_as_a_found_one() -> None:
    scene = _scene()
    analyzer = Analyzer(PortraitSection())
    eye_err, width_err = [], []
    for i in range(45):
        pose = natural_motion(GOOD, i / 30)
        got = analyzer.analyse(_good(scene, GOOD, i / 30), now=i / 30)
        truth = scene.landmarks(pose)
        assert got.eyes is not None and got.shape is not None
        eye_err.append(abs(got.eyes.line_y - (truth.eyes[0][1] + truth.eyes[1][1]) / 2))
        width_err.append(abs(got.shape.width / truth.face_width - 1))
    assert np.mean(eye_err) < 2.0 and max(eye_err) < 4.0
    assert np.mean(width_err) < 0.02 and max(width_err) < 0.04
