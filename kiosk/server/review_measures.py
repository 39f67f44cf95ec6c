"""The station's measurements as the review page shows them: labelled, formatted, held against the standard.

A station sends its own compliance measurements with each record (short keys,
scalar values; ``kiosk.portrait.measurements`` makes them). The reviewer reads
them in their language, the standard's band beside head top, eye line and face
width, and a marker in words (not colour alone) on a value outside its band or
judged by a station check that failed (``checks_failed``). Keys this server does
not know are shown by their own name, as sent: a newer station's extra value is
never hidden. The number and size of values are bounded before this
(``review_desk._measurements``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.photo_standard import EYE_LINE, FACE_WIDTH, HEAD_TOP
from kiosk.text import text

#: the standard's bands (photo pixels from the top edge; face width cheek to cheek)
BANDS: dict[str, tuple[float, float]] = {"head_top_px": HEAD_TOP, "eye_line_px": EYE_LINE,
                                         "face_width_px": FACE_WIDTH}
#: the station check that judged each measurement (a key with no check of its own is not listed)
CHECK_OF = {
    "tilt_deg": "tilt", "yaw_deg": "yaw", "pitch_deg": "pitch", "eye_open": "eyes", "mouth_open": "mouth",
    "face_light": "exposure", "light_balance": "lighting", "sharpness": "sharpness", "headwear_score": "headwear",
    "clothing_share": "clothing", "background_gradient": "background", "background_foreign": "background",
    "background_spread": "backdrop_light", "background_delta_ab": "background_colour",
    "background_delta_l": "background_colour", "background_rgb": "background_colour",
}
#: the order rows are shown in; keys not listed follow in the order the station sent them
ORDER = ("head_top_px", "eye_line_px", "chin_px", "face_width_px", "face_centre_px", "tilt_deg", "yaw_deg",
         "pitch_deg", "eye_open", "mouth_open", "face_light", "light_balance", "sharpness", "headwear_score",
         "background_gradient", "background_spread", "background_foreign", "background_rgb", "background_delta_ab",
         "background_delta_l", "clothing_share", "head_top_measured", "eyes_found", "checks_failed")
FAILED = "checks_failed"


@dataclass(frozen=True)
class MeasureRow:
    """One row of the review page's measurements."""

    key: str
    label: str
    value: str
    band: str = ""  # the standard's band, in words, where it sets one
    flag: str = ""  # why the value is marked (outside the band, a failed check); empty when it is not

    @property
    def outside(self) -> bool:
        """Whether the row is marked."""
        return bool(self.flag)


def measure_rows(measurements: Mapping[str, Any], lang: str) -> list[MeasureRow]:
    """The rows of ``measurements`` (as the station sent them) in ``lang``."""
    failed = _failed(measurements.get(FAILED))
    keys = [k for k in ORDER if k in measurements] + [k for k in measurements if k not in ORDER]
    return [_row(key, measurements[key], failed, lang) for key in keys]


def _failed(value: Any) -> list[str]:
    """The names in ``checks_failed``, in the station's order (its hint order)."""
    return [name.strip() for name in value.split(",") if name.strip()] if isinstance(value, str) else []


def _row(key: str, value: Any, failed: list[str], lang: str) -> MeasureRow:
    label = text(f"console.measure.{key}", lang)
    label = key if label.startswith("console.measure.") else label
    if key == FAILED and isinstance(value, str):
        names = _failed(value)
        if not names:
            return MeasureRow(key, label, text("console.measure.all_passed", lang))
        shown = ("、" if lang == "zh" else ", ").join(_check_label(n, lang) for n in names)
        return MeasureRow(key, label, shown, flag=text("console.measure.flag_check", lang))
    band, flag = "", ""
    if key in BANDS and _is_number(value):
        low, high = BANDS[key]
        band = text("console.measure.band", lang, low=f"{low:g}", high=f"{high:g}", unit="px")
        if not low <= value <= high:
            flag = text("console.measure.flag_band", lang)
    elif CHECK_OF.get(key) in failed:
        flag = text("console.measure.flag_check", lang)
    return MeasureRow(key, label, _shown(key, value, lang), band, flag)


def _check_label(name: str, lang: str) -> str:
    label = text(f"console.check.{name}", lang)
    return name if label.startswith("console.check.") else label


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(key: str, value: Any, lang: str) -> str:
    """A value in words: yes/no, whole pixels, degrees to a tenth, other numbers as sent."""
    if isinstance(value, bool):
        return text("console.yes" if value else "console.no", lang)
    if value is None:
        return "—"
    if not _is_number(value):
        return str(value)
    if key.endswith("_px"):
        return f"{value:.0f} px"
    if key.endswith("_deg"):
        return f"{value:.1f}°"
    return f"{value:g}"
