"""Where the standard photo is cut from a capture, or why it cannot be.

The photo standard fixes, in the 480x640 output, the head top (50-110 px
from the top), the eye line (200-300 px) and the face width (180-300 px),
with the face centred. Given where those three are in a capture, this module
searches the scale and the crop that put all three as far inside their bands
as possible while staying inside the capture. The live guidance and the
photo use the same plan, so "all checks pass" means "the photo can be made".

The crop never leaves the capture (no padding: a padded border is an edit
the standard forbids), and the capture is never upscaled beyond a sane
factor, so a person too far away is asked to step closer instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kiosk.photo_standard import EYE_LINE, FACE_WIDTH, HEAD_TOP, OUT_H, OUT_W

#: the plan aims this many output pixels inside each band, so rounding and
#: a few pixels of measuring error cannot push a photo out of the standard
GUARD_PX = 6.0
#: the face may sit this many output pixels off the centre line before the
#: photo counts as not centred
CENTRE_TOLERANCE_PX = 10.0
#: a face narrower than this share of the frame is too far away, whatever the resolution
MIN_FACE_SHARE = 0.08
#: face widths (output pixels) tried by the search
_TARGETS = [FACE_WIDTH[0] + GUARD_PX + i * 6.0
            for i in range(int((FACE_WIDTH[1] - FACE_WIDTH[0] - 2 * GUARD_PX) / 6) + 1)]

#: why a plan failed -> hint for the person
HINTS = {
    "too_far": "portrait.hint.closer",
    "too_close": "portrait.hint.step_back",
    "off_centre": "portrait.hint.move_centre",
    "too_high": "portrait.hint.move_down",
    "too_low": "portrait.hint.move_up",
    "proportions": "portrait.hint.head_top",
    "low_resolution": "portrait.error.low_resolution",
}


@dataclass(frozen=True)
class Landmarks:
    """What the plan needs from a capture, in capture pixels."""

    face_width: float
    face_cx: float
    eye_y: float
    head_top_y: float | None  # None: not measurable (busy backdrop); only eyes and face then


@dataclass(frozen=True)
class Crop:
    """A 3:4 crop of the capture and what the standard photo made from it will measure."""

    x: float
    y: float
    w: float
    h: float
    scale: float  # output pixels per capture pixel
    head_top_px: float  # NaN when the head top is not known
    eye_line_px: float
    face_width_px: float
    margin: float  # 0 at a band's edge, 1 at its middle (the worst of the three)


@dataclass(frozen=True)
class Plan:
    """The best crop, or the reason (and its hint) why there is none."""

    crop: Crop | None
    problem: str | None = None

    @property
    def hint_key(self) -> str | None:
        """The hint that fixes the problem, None when there is a crop."""
        return HINTS.get(self.problem) if self.problem else None


def _margin(value: float, band: tuple[float, float]) -> float:
    half = (band[1] - band[0]) / 2
    return min(value - band[0], band[1] - value) / half


def plan_crop(frame_w: int, frame_h: int, marks: Landmarks, max_upscale: float, guard_frac: float = 0.0) -> Plan:
    """The crop that best meets the standard, or why none does.

    ``guard_frac`` keeps the crop that share of the frame away from its left
    and right edges; live guidance asks for a little room there so that a
    person swaying slightly does not fall out of a crop that just fits. (Not
    at the top and bottom: people sway sideways, and a tall head already
    needs every row above it.)
    """
    gx, gy = frame_w * guard_frac, 0.0
    avail_w, avail_h = frame_w - 2 * gx, frame_h - 2 * gy
    if frame_w * max_upscale < OUT_W or frame_h * max_upscale < OUT_H:
        # no face position can help: the camera's frames are too small for the photo
        return Plan(None, "low_resolution")
    if marks.face_width < MIN_FACE_SHARE * frame_w:
        # even if the resolution would allow it: someone this small in the
        # picture is standing back in the room, not at the station
        return Plan(None, "too_far")
    best: Crop | None = None
    seen = {"scale": False, "size": False, "horizontal": False, "too_big": False}
    vertical = ""
    for target in _TARGETS:
        s = target / marks.face_width
        if s > max_upscale:
            continue
        seen["scale"] = True
        cw, ch = OUT_W / s, OUT_H / s
        if cw > avail_w or ch > avail_h:
            seen["too_big"] = True
            continue
        seen["size"] = True
        left = min(max(marks.face_cx - cw / 2, gx), gx + avail_w - cw)
        if abs(left - (marks.face_cx - cw / 2)) * s > CENTRE_TOLERANCE_PX:
            continue
        seen["horizontal"] = True
        h_top, e_y = marks.head_top_y, marks.eye_y
        lo, hi = e_y - (EYE_LINE[1] - GUARD_PX) / s, e_y - (EYE_LINE[0] + GUARD_PX) / s
        if h_top is not None:
            lo = max(lo, h_top - (HEAD_TOP[1] - GUARD_PX) / s)
            hi = min(hi, h_top - (HEAD_TOP[0] + GUARD_PX) / s)
        if lo > hi:
            vertical = vertical or "proportions"
            continue
        ideal = (lo + hi) / 2
        lo_f, hi_f = max(lo, gy), min(hi, gy + avail_h - ch)
        if lo_f > hi_f:
            # the crop would start above the frame: the head is too high in it
            vertical = "too_high" if hi < gy else "too_low"
            continue
        top = min(max(ideal, lo_f), hi_f)
        eye_px = (e_y - top) * s
        head_px = (h_top - top) * s if h_top is not None else math.nan
        margin = min(_margin(target, FACE_WIDTH), _margin(eye_px, EYE_LINE),
                     _margin(head_px, HEAD_TOP) if h_top is not None else 1.0)
        if best is None or margin > best.margin + 1e-9:
            best = Crop(left, top, cw, ch, s, head_px, eye_px, target, margin)
    if best is not None:
        return Plan(best)
    if not seen["scale"]:
        return Plan(None, "too_far")
    if not seen["size"]:
        return Plan(None, "too_close")
    if not seen["horizontal"]:
        return Plan(None, "off_centre")
    if (vertical or "proportions") == "proportions" and seen["too_big"]:
        # the face widths whose proportions would fit need a crop larger than
        # the frame: with a step back they fit
        return Plan(None, "too_close")
    return Plan(None, vertical or "proportions")
