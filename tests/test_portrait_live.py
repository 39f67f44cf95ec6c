"""Live guidance on a stream of preview frames: smoothing, held detections, new people."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from itertools import pairwise

import numpy as np

from kiosk.config import PortraitSection
from kiosk.portrait import Analyzer
from kiosk.scene import Pose, Scene, natural_motion

GOOD = Pose(dy=0.08, scale=0.85)


@cache
def _scene() -> Scene:
    return Scene(960, 540)


def stream(pose: Pose, seconds: float, fps: float = 10.0, start: float = 0.0, **changes: float) -> list:
    times = [start + i / fps for i in range(round(seconds * fps))]
    return [(t, _scene().render(natural_motion(replace(pose, **changes), t), t=t)) for t in times]


def test_a_person_standing_still_passes_on_every_frame() -> None:
    analyzer = Analyzer(PortraitSection())
    results = [analyzer.analyse(frame, now=t) for t, frame in stream(GOOD, 2.0)]
    assert all(a.ok for a in results), [a.first_hint() for a in results]


def test_smoothing_steadies_the_measures() -> None:
    frames = stream(replace(GOOD, noise=6.0), 1.2, fps=15)

    def spread(smoothing_s: float) -> float:
        analyzer = Analyzer(PortraitSection(smoothing_s=smoothing_s))
        tilts = [a.eyes.angle_deg for a in (analyzer.analyse(f, now=t) for t, f in frames) if a.eyes is not None]
        assert len(tilts) > len(frames) * 0.8
        return float(np.std(np.diff(tilts)))

    assert spread(0.3) < 0.6 * spread(0.0)


def test_one_missed_frame_keeps_the_face() -> None:
    analyzer = Analyzer(PortraitSection())
    for t, frame in stream(GOOD, 0.5):
        assert analyzer.analyse(frame, now=t).ok
    empty = _scene().render(Pose(present=False))
    held = analyzer.analyse(empty, now=0.6)
    assert held.ok and held.face is not None  # one dropped detection does not cancel a countdown
    gone = analyzer.analyse(empty, now=1.2)
    assert gone.first_hint() == "portrait.hint.no_face"


def test_a_new_person_is_not_averaged_with_the_last() -> None:
    analyzer = Analyzer(PortraitSection(smoothing_s=1.0))  # heavy smoothing, to make averaging show
    for t, frame in stream(GOOD, 0.5, dx=-0.2):
        analyzer.analyse(frame, now=t)
    frame = _scene().render(replace(GOOD, dx=0.2))
    analysis = analyzer.analyse(frame, now=0.6)
    truth = _scene().landmarks(replace(GOOD, dx=0.2))
    assert analysis.face is not None
    assert abs(analysis.face.cx - (truth.face[0] + truth.face[2] / 2)) < 0.1 * truth.face[2]


def test_reset_forgets_the_history() -> None:
    analyzer = Analyzer(PortraitSection(smoothing_s=1.0))
    for t, frame in stream(GOOD, 0.3):
        analyzer.analyse(frame, now=t)
    analyzer.reset()
    assert analyzer.analyse(_scene().render(Pose(present=False)), now=0.35).face is None


def test_a_second_person_stepping_in_is_noticed_within_a_second() -> None:
    analyzer = Analyzer(PortraitSection())
    for t, frame in stream(GOOD, 0.5):
        assert analyzer.analyse(frame, now=t).ok
    two = _scene().render_two_people()
    hints = [analyzer.analyse(two, now=0.5 + i / 10).first_hint() for i in range(12)]
    assert "portrait.hint.one_person" in hints


def test_live_guidance_asks_for_room_at_the_frame_sides() -> None:
    # a crop that just fits a still is too tight for a swaying person
    pose = Pose(dx=0.335, dy=0.08, scale=0.85)
    frame = _scene().render(pose)
    assert Analyzer(PortraitSection(), frame_guard=0.0).analyse(frame).ok
    assert Analyzer(PortraitSection()).analyse(frame).first_hint() == "portrait.hint.move_centre"


def test_hints_do_not_flicker_at_a_border() -> None:
    # a person swaying (with sensor noise) right where the frame's edge starts to matter
    analyzer = Analyzer(PortraitSection())
    hints = [analyzer.analyse(frame, now=t).first_hint()
             for t, frame in stream(replace(GOOD, noise=3.0), 3.0, fps=10, dx=0.325)]
    changes = sum(1 for a, b in pairwise(hints) if a != b)
    assert changes <= 3, hints
