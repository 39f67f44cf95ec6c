"""Auto-capture timing (hold, 3-2-1, sharpest frame), and the whole guidance loop.

Time is passed in, so the timing is tested without waiting. The last tests
close the loop: a simulated person follows the hints the station gives until
the station takes a compliant photo by itself.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from kiosk.config import PortraitSection
from kiosk.portrait import Analysis, Analyzer, AutoCapture, Box, Check, make_photo
from kiosk.scene import Pose, Scene, natural_motion

SETTINGS = PortraitSection(hold_s=0.8, countdown_s=3, sharpest_of=4)
FACE = Box(100, 100, 200, 200)


def passing(sharpness: float = 100.0) -> Analysis:
    return Analysis([Check("face", True, 1.0), Check("tilt", True, 0.5)], face=FACE, sharpness=sharpness)


def failing(hint: str = "portrait.hint.straighten") -> Analysis:
    return Analysis([Check("face", True, 1.0), Check("tilt", False, 9.0, hint)], face=FACE, sharpness=50.0)


def frame(tag: int) -> np.ndarray:
    return np.full((4, 4, 3), tag, np.uint8)


def run(auto: AutoCapture, start: float, end: float, step: float = 0.1, sharp: float = 100.0) -> list:
    shots = []
    for i in range(round(start / step), round(end / step) + 1):
        t = i * step if step != 0.1 else i / 10
        shots.append((round(t, 2), auto.update(passing(sharp), frame(i % 250), t)))
    return shots


def test_hold_then_countdown_then_shoot() -> None:
    auto = AutoCapture(SETTINGS)
    shots = run(auto, 0.0, 3.8)
    phases = {t: (s.phase, s.count) for t, s in shots}
    assert phases[0.0] == ("holding", 0) and phases[0.7] == ("holding", 0)
    assert phases[0.8] == ("countdown", 3) and phases[1.7] == ("countdown", 3)
    assert phases[1.9] == ("countdown", 2) and phases[2.9] == ("countdown", 1)
    assert phases[3.8] == ("shoot", 0)
    assert [s.phase for _, s in shots].count("shoot") == 1
    progress = [s.progress for _, s in shots]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert shots[-1][1].hint_key == "portrait.hint.shoot"
    assert shots[3][1].hint_key == "portrait.hint.hold"


def test_a_failing_check_cancels_with_its_hint_and_holding_starts_over() -> None:
    auto = AutoCapture(SETTINGS)
    run(auto, 0.0, 2.0)
    assert auto.phase == "countdown"
    shot = auto.update(failing(), frame(1), 2.1)
    assert (shot.phase, shot.hint_key, shot.frame) == ("waiting", "portrait.hint.straighten", None)
    assert auto.update(passing(), frame(2), 2.2).phase == "holding"
    assert auto.update(passing(), frame(2), 2.9).phase == "holding"
    assert auto.update(passing(), frame(2), 3.05).phase == "countdown"


def test_the_sharpest_of_the_last_frames_is_kept() -> None:
    auto = AutoCapture(SETTINGS)
    run(auto, 0.0, 3.3)
    # the last four frames: the second is the sharpest
    for i, (t, sharp) in enumerate([(3.4, 80.0), (3.5, 300.0), (3.6, 120.0)]):
        assert auto.update(passing(sharp), frame(200 + i), t).phase == "countdown"
    shot = auto.update(passing(90.0), frame(210), 3.8)
    assert shot.phase == "shoot" and shot.frame is not None
    assert int(shot.frame[0, 0, 0]) == 201
    assert shot.analysis is not None and shot.analysis.sharpness == 300.0
    assert not shot.manual


def test_frames_from_before_a_cancel_are_never_the_photo() -> None:
    auto = AutoCapture(PortraitSection(hold_s=0.1, countdown_s=0, sharpest_of=10))
    auto.update(passing(999.0), frame(1), 0.0)  # very sharp, but its run is cancelled
    auto.update(failing(), frame(2), 0.05)
    auto.update(passing(10.0), frame(3), 0.1)
    shot = auto.update(passing(20.0), frame(4), 0.2)
    assert shot.phase == "shoot" and shot.frame is not None and int(shot.frame[0, 0, 0]) == 4


def test_no_countdown_shoots_after_the_hold() -> None:
    auto = AutoCapture(PortraitSection(hold_s=0.5, countdown_s=0))
    assert auto.update(passing(), frame(1), 0.0).phase == "holding"
    assert auto.update(passing(), frame(1), 0.5).phase == "shoot"
    assert auto.phase == "waiting"


def test_manual_shutter_takes_the_sharpest_recent_face_whatever_the_checks() -> None:
    auto = AutoCapture(SETTINGS)
    assert auto.shoot_now().phase == "waiting"  # nothing seen yet
    auto.update(failing(), frame(7), 0.0)
    auto.update(replace(failing(), sharpness=70.0), frame(8), 0.1)
    shot = auto.shoot_now()
    assert shot.phase == "shoot" and shot.manual and shot.frame is not None
    assert int(shot.frame[0, 0, 0]) == 8
    assert auto.shoot_now().phase == "waiting"  # used up


def test_no_face_is_waiting_with_the_face_hint() -> None:
    auto = AutoCapture(SETTINGS)
    empty = Analysis([Check("face", False, 0.0, "portrait.hint.no_face")])
    shot = auto.update(empty, frame(0), 0.0)
    assert shot.phase == "waiting" and shot.hint_key == "portrait.hint.no_face"
    assert auto.shoot_now().phase == "waiting"


# -- the whole loop: a person who follows the hints -------------------------

#: how a cooperative person reacts to each hint, one small step per frame
REACTIONS = {
    "portrait.hint.closer": lambda p: replace(p, scale=p.scale * 1.06),
    "portrait.hint.step_back": lambda p: replace(p, scale=p.scale / 1.06),
    "portrait.hint.move_centre": lambda p: replace(p, dx=p.dx - np.sign(p.dx) * min(abs(p.dx), 0.04)),
    "portrait.hint.move_down": lambda p: replace(p, dy=p.dy + 0.02),
    "portrait.hint.move_up": lambda p: replace(p, dy=p.dy - 0.02),
    "portrait.hint.straighten": lambda p: replace(p, roll=p.roll - np.sign(p.roll) * min(abs(p.roll), 2.0)),
}


@pytest.mark.parametrize("start", [Pose(dx=0.3, dy=-0.05, scale=0.5, roll=9), Pose(dx=-0.2, dy=0.2, scale=1.5)],
                         ids=["far-right-tilted", "close-low-left"])
def test_a_person_following_the_hints_gets_a_compliant_photo(start: Pose) -> None:
    scene = Scene(960, 540)
    settings = PortraitSection()
    analyzer, auto = Analyzer(settings), AutoCapture(settings)
    pose, t, hints = start, 0.0, []
    for _ in range(160):
        image = scene.render(natural_motion(pose, t, amount=0.5), t=t)
        analysis = analyzer.analyse(image, now=t)
        shot = auto.update(analysis, image, t)
        if shot.phase == "shoot":
            break
        if shot.hint_key in REACTIONS:
            pose = REACTIONS[shot.hint_key](pose)
            hints.append(shot.hint_key)
        elif shot.phase == "waiting":
            pytest.fail(f"no way to follow {shot.hint_key} at {pose}")
        t += 0.1
    else:
        pytest.fail(f"no photo after {t:.1f} s; last pose {pose}, hints {hints[-5:]}")
    assert hints, "the start pose should have needed guidance"
    assert shot.frame is not None and shot.analysis is not None
    photo = make_photo(shot.frame, shot.analysis, settings)
    g = photo.geometry
    assert 50 <= g["head_top_px"] <= 110 and 200 <= g["eye_line_px"] <= 300 and 180 <= g["face_width_px"] <= 300
