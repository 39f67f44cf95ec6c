"""Sizes, colours and the style sheet of the touch screens.

Sizes are in pixels for a touch screen of about 96-100 dpi: 15 mm is about
60 px, so every touch target is at least ``TOUCH_PX`` high and wide. Fonts scale
with the window's shorter side so that 1080x1920 portrait and 1920x1080
landscape both read well from a step away.
"""

from __future__ import annotations

from dataclasses import dataclass

#: smallest side of anything a finger must hit (>= 15 mm at ~100 dpi)
TOUCH_PX = 72
#: height of a screen's main action (扫码拍照, the shutter): clearly the one to press
MAIN_PX = 2 * TOUCH_PX

PRIMARY = "#1565c0"
PRIMARY_DARK = "#0d47a1"
ACCENT = "#2e7d32"
DANGER = "#c62828"
BACKGROUND = "#f4f7fb"
SURFACE = "#ffffff"
TEXT = "#1b1f24"
MUTED = "#5f6b7a"
GUIDE_OK = "#43a047"
GUIDE_WAIT = "#ffffff"
WARNING_BG = "#fff3cd"
WARNING_TEXT = "#7a4a00"  # 7.6:1 on WARNING_BG: a warning is never drawn in success green
#: a button that cannot be pressed now: still readable (its text may say why, e.g. "no retakes left")
DISABLED_TEXT = "#4f5b69"
DISABLED_BACKGROUND = "#e6eaef"
DISABLED_BORDER = "#7d8896"
ERROR_BACKGROUND = "#fdecea"
INFO_BACKGROUND = "#e8f5e9"
BATCH_LINE = "#dce8f8"

#: every (text, background) pair of the style sheet; WCAG 2 asks 4.5:1 for text (tests check them all)
TEXT_PAIRS: dict[str, tuple[str, str]] = {
    "body": (TEXT, BACKGROUND),
    "card": (TEXT, SURFACE),
    "sub": (MUTED, BACKGROUND),
    "sub on card": (MUTED, SURFACE),
    "help": (MUTED, SURFACE),
    "big": (PRIMARY_DARK, SURFACE),
    "title": ("#ffffff", PRIMARY),
    "batch line": (BATCH_LINE, PRIMARY),
    "error": (DANGER, ERROR_BACKGROUND),
    "info": (ACCENT, INFO_BACKGROUND),
    "button": (PRIMARY, SURFACE),
    "primary button": ("#ffffff", PRIMARY),
    "disabled button": (DISABLED_TEXT, DISABLED_BACKGROUND),
    "status good": (ACCENT, SURFACE),
    "status bad": (DANGER, SURFACE),
    "warning": (WARNING_TEXT, WARNING_BG),
}


def _luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(text: str, background: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    a, b = sorted((_luminance(text), _luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)

FONT_FAMILIES = '"Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "Source Han Sans SC", sans-serif'


@dataclass(frozen=True)
class Scale:
    """Font sizes in pixels for one window size."""

    body: int
    heading: int
    big: int
    small: int

    @classmethod
    def for_size(cls, width: int, height: int) -> Scale:
        """Sizes for a window of ``width`` x ``height`` pixels."""
        short = max(480, min(width, height))
        body = max(18, round(short / 42))
        return cls(body=body, heading=round(body * 1.6), big=round(body * 3.2), small=max(16, round(body * 0.8)))


def style_sheet(scale: Scale) -> str:
    """The application's style sheet for ``scale``."""
    return f"""
    QWidget {{ font-family: {FONT_FAMILIES}; font-size: {scale.body}px; color: {TEXT}; }}
    QMainWindow, #root {{ background: {BACKGROUND}; }}
    #header {{ background: {PRIMARY}; }}
    #header QLabel {{ color: white; }}
    #title {{ font-size: {scale.heading}px; font-weight: bold; color: white; }}
    #batchLine {{ font-size: {scale.small}px; color: {BATCH_LINE}; }}
    #footer {{ background: {SURFACE}; border-top: 1px solid #d5dde8; }}
    #help {{ font-size: {scale.small}px; color: {MUTED}; }}
    #heading {{ font-size: {scale.heading}px; font-weight: bold; }}
    #sub {{ color: {MUTED}; }}
    #big {{ font-size: {scale.big}px; font-weight: bold; color: {PRIMARY_DARK}; }}
    #error {{ background: {ERROR_BACKGROUND}; color: {DANGER}; border: 2px solid {DANGER}; border-radius: 10px;
              padding: 12px; font-weight: bold; }}
    #info {{ background: {INFO_BACKGROUND}; color: {ACCENT}; border: 2px solid {ACCENT}; border-radius: 10px;
             padding: 12px; font-weight: bold; }}
    #warning {{ background: {WARNING_BG}; color: {WARNING_TEXT}; border: 2px solid {WARNING_TEXT};
                border-radius: 10px; padding: 12px; font-weight: bold; }}
    #card {{ background: {SURFACE}; border: 1px solid #d5dde8; border-radius: 14px; }}
    #stillThere {{ font-size: {scale.big}px; font-weight: bold; color: {PRIMARY_DARK}; }}
    #countdown {{ font-size: {scale.big * 2}px; font-weight: bold; color: {PRIMARY_DARK}; }}
    #stepNumber {{ font-size: {scale.big}px; font-weight: bold; color: white; background: {PRIMARY};
                   border-radius: 12px; min-width: {scale.big * 3 // 2}px; }}
    #hint {{ font-size: {scale.heading}px; font-weight: bold; color: white;
             background: rgba(0, 0, 0, 150); border-radius: 12px; padding: 10px; }}
    QPushButton {{ min-height: {TOUCH_PX}px; min-width: {TOUCH_PX}px; padding: 8px 24px;
                   border-radius: 12px; border: 2px solid {PRIMARY}; background: {SURFACE};
                   color: {PRIMARY}; font-weight: bold; }}
    QPushButton:pressed {{ background: #dbe7f7; }}
    QPushButton:disabled {{ border: 2px dashed {DISABLED_BORDER}; color: {DISABLED_TEXT};
                            background: {DISABLED_BACKGROUND}; }}
    QPushButton[primary="true"] {{ background: {PRIMARY}; color: white; }}
    QPushButton[primary="true"]:pressed {{ background: {PRIMARY_DARK}; }}
    QPushButton[primary="true"]:disabled {{ background: {DISABLED_BACKGROUND}; color: {DISABLED_TEXT};
                                           border: 2px dashed {DISABLED_BORDER}; }}
    QPushButton[compact="true"] {{ padding: 8px 4px; }}
    QPushButton[main="true"] {{ min-height: {MAIN_PX}px; font-size: {scale.heading}px; border-radius: 18px; }}
    QPushButton[quiet="true"] {{ border: none; background: transparent; text-decoration: underline; }}
    #header QPushButton {{ background: transparent; color: white; border: 2px solid white; }}
    QLineEdit {{ min-height: {TOUCH_PX}px; padding: 4px 12px; border: 2px solid #9fb3c8; border-radius: 10px;
                 background: {SURFACE}; font-size: {scale.heading}px; }}
    QLineEdit:focus {{ border-color: {PRIMARY}; }}
    #keypadDisplay {{ font-size: {scale.heading}px; letter-spacing: 8px; background: {SURFACE};
                      border: 2px solid #9fb3c8; border-radius: 10px; }}
    """
