"""What the station tells the reviewer about a photo: its own compliance measurements.

The record carries them to the server, whose review console shows them beside
the photo (``console.measure.<key>`` labels; the standard's bands beside head
top, eye line and face width). Keys are short and stable: a console that does
not know a key shows it by its name, and a record keeps its measurements for a
year. Values are scalars only (numbers, true/false, short text), rounded, never
NaN or infinite, at most ``MAX_VALUES`` of them: the server refuses anything
else in an upload, and the store checks a record as the server will before it
keeps it, so a value out of shape here would cost the student the capture.

Where each value comes from:

* the photo's geometry (``make_photo``: measured again on the capture at full
  resolution, then scaled into the 480x640 photo): head top, eye line, chin,
  face width and centre, in photo pixels; the tilt of the eye line;
* the analysis the photo was made from (the shot's frame, smoothed a little
  over the frames before it): yaw, pitch, eyes and mouth open, the light on the
  face, sharpness, the headwear (crown) score, the backdrop's evenness, shadow
  and colour, the clothing's likeness to the backdrop;
* the checks' verdicts: ``checks_failed`` names the checks that did not pass
  (empty when all did; an operator may shoot with some failing).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

from kiosk.portrait.analysis import Analysis

#: the server takes at most this many values (``RecordMetadata.measurements``)
MAX_VALUES = 40
#: nor texts longer than this
MAX_TEXT = 64

Value = float | int | bool | str

#: photo geometry: key in ``StandardPhoto.geometry`` -> digits kept (0: whole pixels)
_GEOMETRY = {"head_top_px": 0, "eye_line_px": 0, "chin_px": 0, "face_width_px": 0, "face_centre_px": 0,
             "tilt_deg": 1}
_FLAGS = ("head_top_measured", "eyes_found")


def photo_measurements(geometry: Mapping[str, Any], analysis: Analysis) -> dict[str, Value]:
    """The measurements of a photo for its reviewer, from its ``geometry`` and the ``analysis`` it was made from."""
    out: dict[str, Value] = {}

    def put(key: str, value: Any, digits: int = 2) -> None:
        if value is None or isinstance(value, bool):
            return
        number = float(value)
        if math.isfinite(number):
            out[key] = round(number) if digits == 0 else round(number, digits)

    for key, digits in _GEOMETRY.items():
        put(key, geometry.get(key), digits)
    m = analysis.measures
    if m is not None and m.shape is not None:
        put("yaw_deg", m.shape.yaw, 1)
        put("pitch_deg", m.shape.pitch, 1)
        put("eye_open", m.shape.eye_open)
        put("mouth_open", m.shape.mouth_open)
    if m is not None and m.light is not None:
        put("face_light", m.light.mean, 0)
    if m is not None and m.look is not None:
        put("light_balance", m.look.cheek_ratio)
    # this very frame's sharpness (auto-capture kept the sharpest), else the smoothed one
    put("sharpness", analysis.sharpness if analysis.sharpness > 0 else (
        m.light.sharpness if m is not None and m.light is not None else None), 0)
    if m is not None:
        put("headwear_score", m.crown)
        put("clothing_share", m.clothing)
    if m is not None and m.backdrop is not None:
        bd = m.backdrop
        put("background_gradient", bd.gradient)
        put("background_spread", bd.spread, 1)
        put("background_foreign", bd.foreign, 3)
        put("background_delta_ab", bd.colour_delta_ab, 1)
        put("background_delta_l", bd.colour_delta_l, 1)
        rgb = _rgb_of_lab(bd.lab)
        if rgb is not None:
            out["background_rgb"] = rgb
    for flag in _FLAGS:
        if isinstance(geometry.get(flag), bool):
            out[flag] = geometry[flag]
    out["checks_failed"] = failed_checks(analysis)
    return dict(list(out.items())[:MAX_VALUES])


def failed_checks(analysis: Analysis) -> str:
    """The names of the checks that failed, comma-separated in hint order, cut to whole names within ``MAX_TEXT``."""
    names: list[str] = []
    for check in analysis.failing():
        if len(",".join([*names, check.name])) > MAX_TEXT:
            break
        names.append(check.name)
    return ",".join(names)


def _rgb_of_lab(lab: tuple[float, float, float]) -> str | None:
    """The backdrop's colour as ``#RRGGBB`` (what a reviewer can compare with the batch's colour)."""
    if not all(math.isfinite(v) for v in lab):
        return None
    bgr = cv2.cvtColor(np.array([[lab]], dtype=np.float32), cv2.COLOR_Lab2BGR)[0, 0]
    b, g, r = (min(255, max(0, round(float(v) * 255))) for v in bgr)
    return f"#{r:02X}{g:02X}{b:02X}"
