"""The crop plan and the smoothing: pure functions, checked over many cases."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.portrait.framing import EYE_LINE, FACE_WIDTH, HEAD_TOP, OUT_H, OUT_W, Landmarks, plan_crop
from kiosk.portrait.smoothing import Smoother


@settings(max_examples=300, deadline=None)
@given(
    frame=st.sampled_from([(960, 540), (1280, 720), (1920, 1080), (720, 1280)]),
    face_share=st.floats(0.05, 0.5),
    cx_share=st.floats(0.0, 1.0),
    eye_share=st.floats(0.1, 0.9),
    head_above=st.floats(0.3, 1.1),  # head top above the eyes, in face widths
)
def test_every_plan_meets_the_standard_inside_the_frame(frame: tuple[int, int], face_share: float,
                                                        cx_share: float, eye_share: float,
                                                        head_above: float) -> None:
    w, h = frame
    face = face_share * w
    marks = Landmarks(face, cx_share * w, eye_share * h, eye_share * h - head_above * face)
    plan = plan_crop(w, h, marks, max_upscale=1.6)
    if plan.crop is None:
        assert plan.problem is not None and plan.hint_key is not None
        return
    c = plan.crop
    assert plan.problem is None
    assert c.x >= -1e-6 and c.y >= -1e-6 and c.x + c.w <= w + 1e-6 and c.y + c.h <= h + 1e-6
    assert math.isclose(c.w / c.h, OUT_W / OUT_H, rel_tol=1e-9)
    assert c.scale <= 1.6 + 1e-9
    # what the crop predicts, recomputed here from the landmarks
    s = OUT_W / c.w
    assert HEAD_TOP[0] <= (marks.head_top_y - c.y) * s <= HEAD_TOP[1]
    assert EYE_LINE[0] <= (marks.eye_y - c.y) * s <= EYE_LINE[1]
    assert FACE_WIDTH[0] <= face * s <= FACE_WIDTH[1]
    assert abs((marks.face_cx - c.x) * s - OUT_W / 2) <= 10 + 1e-6


def test_reasons_when_there_is_no_crop() -> None:
    def problem(face: float, cx: float, eye: float, head: float | None, size=(1280, 720)) -> str | None:
        return plan_crop(size[0], size[1], Landmarks(face, cx, eye, head), max_upscale=1.6).problem

    assert problem(200, 640, 330, 180) is None
    assert problem(80, 640, 330, 270) == "too_far"  # would need too much enlarging
    assert problem(150, 1920, 600, 500, size=(3840, 2160)) == "too_far"  # small in a large frame
    assert problem(600, 640, 330, 0) == "too_close"
    assert problem(200, 80, 330, 180) == "off_centre"
    assert problem(200, 1200, 330, 180) == "off_centre"
    assert problem(200, 640, 120, 10) == "too_high"
    assert problem(200, 640, 600, 450) == "too_low"
    assert problem(200, 640, 330, None) is None  # no head top: eyes and face alone
    assert problem(200, 640, 330, 180, size=(320, 240)) == "low_resolution"


def test_live_guard_asks_for_room_at_the_sides() -> None:
    marks = Landmarks(200, 200, 330, 180)
    assert plan_crop(1280, 720, marks, 1.6).crop is not None
    assert plan_crop(1280, 720, marks, 1.6, guard_frac=0.05).problem == "off_centre"


def test_smoothing_is_keyed_by_time() -> None:
    s = Smoother(tau_s=0.2, hold_s=0.3)
    assert s.update("x", (0.0,), 0.0) == (0.0,)
    got = s.update("x", (10.0,), 0.2)
    assert got is not None and math.isclose(got[0], 10 * (1 - math.exp(-1)), rel_tol=1e-9)
    # two half steps land where one whole step does
    a, b = Smoother(0.2, 0.3), Smoother(0.2, 0.3)
    a.update("x", (0.0,), 0.0)
    b.update("x", (0.0,), 0.0)
    b.update("x", (10.0,), 0.1)
    assert math.isclose(a.update("x", (10.0,), 0.2)[0], b.update("x", (10.0,), 0.2)[0], rel_tol=1e-9)  # type: ignore[index]


def test_a_missing_measure_is_held_briefly_then_dropped() -> None:
    s = Smoother(tau_s=0.1, hold_s=0.3)
    s.update("face", (1.0, 2.0), 0.0)
    assert s.update("face", None, 0.2) == (1.0, 2.0)
    assert s.update("face", None, 0.5) is None
    assert s.update("face", (5.0, 5.0), 0.6) == (5.0, 5.0)  # starts afresh, not smoothed from the old
    s.reset()
    assert s.update("face", None, 0.61) is None


def test_no_smoothing_when_tau_is_zero() -> None:
    s = Smoother(tau_s=0.0, hold_s=0.3)
    s.update("x", (0.0,), 0.0)
    assert s.update("x", (7.0,), 0.01) == (7.0,)
