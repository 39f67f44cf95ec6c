"""The receipt slip on an ESC/POS printer: status QR, claim ticket for codeless students, help line.

Optional: only when ``[station] receipt_printer`` names a device (a USB
printer's ``/dev/usb/lp0``, a serial port, or a file for tests). The bytes are
written raw: initialise, Chinese text in GB18030 (what Chinese ESC/POS
printers take after ``FS &``), the printer's own QR command (``GS ( k``),
feed and cut. No driver or extra package is needed, and an unknown printer
that ignores a command still prints the text. A printer error is the
caller's log line and on-screen note, never a crash.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from kiosk.text import text

log = logging.getLogger(__name__)

ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"
INIT = ESC + b"@"
CHINESE_ON = FS + b"&"
CENTER = ESC + b"a\x01"
LEFT = ESC + b"a\x00"
BIG = GS + b"!\x11"  # double width and height
NORMAL = GS + b"!\x00"
FEED_CUT = ESC + b"d\x04" + GS + b"V\x42\x00"


class PrintFailed(Exception):
    """The slip could not be written to the printer (gone, busy, out of paper, no permission)."""


@dataclass(frozen=True)
class Slip:
    """What the slip says."""

    short_id: str
    status_link: str = ""
    check_until: str = ""
    ticket_display: str = ""
    ticket_link: str = ""
    help_phone: str = ""
    help_hours: str = ""
    lang: str = "zh"


def qr_bytes(data: str, module: int = 6) -> bytes:
    """ESC/POS commands that print ``data`` as a QR code (model 2, error level M)."""
    payload = data.encode("utf-8")
    store_len = len(payload) + 3

    def k(fn: bytes, body: bytes) -> bytes:
        size = len(body) + 2
        return GS + b"(k" + bytes([size & 0xFF, size >> 8]) + b"1" + fn + body

    return (k(b"A", b"2\x00") + k(b"C", bytes([module])) + k(b"E", b"1")
            + GS + b"(k" + bytes([store_len & 0xFF, store_len >> 8]) + b"1P0" + payload
            + k(b"Q", b"0"))


def _line(words: str) -> bytes:
    return words.encode("gb18030", errors="replace") + b"\n"


def render(slip: Slip) -> bytes:
    """The slip as raw ESC/POS bytes."""
    t = lambda key, **kw: text(key, slip.lang, **kw)  # noqa: E731 - a local shorthand
    out = INIT + CHINESE_ON + CENTER
    out += BIG + _line(t("staff.slip.title")) + NORMAL
    out += _line(t("staff.slip.receipt", short_id=slip.short_id))
    if slip.ticket_display:
        out += _line("") + BIG + _line(slip.ticket_display) + NORMAL
        out += _line(t("staff.slip.ticket"))
        if slip.ticket_link:
            out += qr_bytes(slip.ticket_link) + _line("")
    if slip.status_link:
        out += _line("") + _line(t("staff.slip.status"))
        out += qr_bytes(slip.status_link) + _line("")
        if slip.check_until:
            out += _line(t("staff.slip.until", date=slip.check_until))
    if slip.help_phone:
        out += LEFT + _line("") + _line(t("staff.slip.help", phone=slip.help_phone, hours=slip.help_hours))
    return out + FEED_CUT


def print_slip(device: Path | str, slip: Slip) -> None:
    """Write the slip to ``device``; ``PrintFailed`` when the printer does not take it."""
    data = render(slip)
    # O_NONBLOCK: a printer that is gone or stuck must not hang the station; a plain file (tests) is appended to
    flags = os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | (os.O_APPEND if Path(device).is_file() else 0)
    try:
        fd = os.open(device, flags)
    except OSError as exc:
        raise PrintFailed(f"open errno={exc.errno}") from None
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            if written <= 0:
                raise PrintFailed("short write")
            view = view[written:]
    except OSError as exc:
        raise PrintFailed(f"write errno={exc.errno}") from None
    finally:
        os.close(fd)
    log.info("slip.printed bytes=%d", len(data))
