"""The guidance checks: each one a verdict, the measured value and a hint.

A check is judged on measurements (``Measures``), never on pixels, so that the
thresholds live in one place and can be read next to each other. The order of
``judge``'s list is the order hints are given in: the first failing check is
what the person is told first (there is no point in asking for better light
before a face is in the picture).

Checks that cannot be measured (the tilt when the eyes are not found, the
light when there is no single face, colours when the exposure is off) are
left out rather than failed, so a failing check names the one thing to
change, not its side effects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kiosk.portrait.background import BackdropMeasures
from kiosk.portrait.face import Box, Eyes
from kiosk.portrait.framing import Plan
from kiosk.portrait.photometry import FaceLight

# Thresholds, on the scales of the measures in photometry.py and background.py.
# The notes say what was measured on the packaged real faces when they were set.
#: mean luminance of the inner face (well lit: 140-180); shares of pixels below 25 / above 247
TOO_DARK_MEAN, TOO_BRIGHT_MEAN = 70.0, 215.0
MAX_DARK_SHARE, MAX_BRIGHT_SHARE = 0.15, 0.08
#: cheek histogram overlap: evenly lit faces 0.65-0.85; light 30 % stronger on one side ~0.5, 60 % ~0.37
MIN_CHEEK_OVERLAP = 0.45
#: normalised Laplacian variance: sharp faces 250-300; a blur of about 2 px in the photo ~40
MIN_SHARPNESS = 45.0
#: backdrop: mean Lab gradient (plain ~0.2, a cluttered wall ~9) and L range between its
#: regions (a shadow over a third of it ~15, light falling off by a quarter across it ~12)
MAX_BACKDROP_GRADIENT, MAX_BACKDROP_SPREAD = 2.5, 10.0
#: distance to the batch colour: another reference colour is ~40 away in (a, b)
MAX_COLOUR_DELTA_AB, MAX_COLOUR_DELTA_L = 20.0, 30.0
#: share of the clothing below the chin that looks like the backdrop
MAX_CLOTHING_SHARE = 0.3


@dataclass(frozen=True)
class Check:
    """One check: its verdict, what was measured and the hint when it fails."""

    name: str
    passed: bool
    value: float | None
    hint_key: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The check as a JSON-ready dict."""
        value = None if self.value is None else round(float(self.value), 3)
        return {"name": self.name, "passed": self.passed, "value": value, "hint": self.hint_key,
                "detail": {k: round(v, 3) if isinstance(v, float) else v for k, v in self.detail.items()}}


@dataclass(frozen=True)
class Measures:
    """Everything measured on one frame (or smoothed over a few), in frame pixels."""

    frame_w: int
    frame_h: int
    face_count: int
    face: Box | None = None
    eyes: Eyes | None = None
    head_top: float | None = None
    head_top_measured: bool = False
    light: FaceLight | None = None
    backdrop: BackdropMeasures | None = None
    clothing: float | None = None
    plan: Plan | None = None


def _check(name: str, ok: bool, value: float | None, hint: str, **detail: Any) -> Check:
    return Check(name, ok, value, None if ok else hint, detail)


def judge(m: Measures, tilt_max_deg: float) -> list[Check]:
    """The checks of ``m``, in the order their hints are given."""
    if m.face_count != 1 or m.face is None:
        hint = "portrait.hint.no_face" if m.face_count == 0 else "portrait.hint.one_person"
        return [_check("face", False, float(m.face_count), hint)]
    face = m.face
    checks = [_check("face", True, 1.0, "")]
    problem = m.plan.problem if m.plan else None
    hint = (m.plan.hint_key if m.plan else None) or ""
    checks.append(_check("distance", problem not in ("too_far", "too_close"), face.w, hint,
                         frame_share=face.w / m.frame_w))
    offset = (face.cx - m.frame_w / 2) / m.frame_w
    # where to stand is judged once the distance is right: a step changes both
    checks.append(_check("centre", problem is None or problem in ("too_far", "too_close"), offset, hint,
                         problem=problem))
    if m.eyes is not None:
        angle = m.eyes.angle_deg
        checks.append(_check("tilt", abs(angle) <= tilt_max_deg, angle, "portrait.hint.straighten"))
        checks.append(_check("eyes", True, m.eyes.distance, ""))
    else:
        checks.append(_check("eyes", False, None, "portrait.hint.eyes"))
    exposed = True
    if m.light is not None:
        light = m.light
        dark = light.mean < TOO_DARK_MEAN or light.dark_share > MAX_DARK_SHARE
        bright = light.mean > TOO_BRIGHT_MEAN or light.bright_share > MAX_BRIGHT_SHARE
        exposed = not (dark or bright)
        checks.append(_check("exposure", not (dark or bright), light.mean,
                             "portrait.hint.too_dark" if dark else "portrait.hint.too_bright",
                             dark_share=light.dark_share, bright_share=light.bright_share))
        checks.append(_check("lighting", light.cheek_overlap >= MIN_CHEEK_OVERLAP, light.cheek_overlap,
                             "portrait.hint.uneven_light"))
        checks.append(_check("sharpness", light.sharpness >= MIN_SHARPNESS, light.sharpness,
                             "portrait.hint.hold_still"))
    if m.backdrop is not None:
        bd = m.backdrop
        even = bd.gradient <= MAX_BACKDROP_GRADIENT and bd.spread <= MAX_BACKDROP_SPREAD
        checks.append(_check("background", even, bd.gradient, "portrait.hint.background", spread=bd.spread,
                             head_top_measured=m.head_top_measured))
        colour_ok = bd.colour_delta_ab <= MAX_COLOUR_DELTA_AB and bd.colour_delta_l <= MAX_COLOUR_DELTA_L
        if exposed:
            checks.append(_check("background_colour", colour_ok, bd.colour_delta_ab,
                                 "portrait.hint.background_colour",
                                 delta_l=bd.colour_delta_l, lab=[round(v, 1) for v in bd.lab]))
    if m.clothing is not None and exposed:
        checks.append(_check("clothing", m.clothing <= MAX_CLOTHING_SHARE, m.clothing, "portrait.hint.clothing"))
    return checks
