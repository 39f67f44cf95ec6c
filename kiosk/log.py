"""Operator logs: one structured line per event, journald-friendly, never personal data.

Every module logs through ``logging.getLogger(__name__)`` with short event
messages (``"record.sent id=%s"``). Ids of records are fine; names, ID digits,
phone numbers and code payloads are not, and a redaction filter on the handler
masks anything that looks like them in case a caller slips.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys

from kiosk.config import LoggingSection

# Patterns of personal data that must never reach a log line.
_REDACTIONS: list[tuple[re.Pattern[str], str]] = [
    # ID numbers: 15-18 characters ending in a digit or X
    (re.compile(r"(?<![0-9A-Za-z])\d{14,17}[\dXx](?![0-9A-Za-z])"), "[id]"),
    # mainland mobile numbers
    (re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"), "[phone]"),
    # payloads of the reference code format and other long opaque tokens
    (re.compile(r"KC\d+\.[A-Za-z0-9_.-]{8,}"), "[code]"),
]


def redact(message: str) -> str:
    """``message`` with anything that looks like personal data masked."""
    for pattern, mask in _REDACTIONS:
        message = pattern.sub(mask, message)
    return message


class RedactingFormatter(logging.Formatter):
    """``level logger event`` lines, redacted, without timestamps when journald adds them."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one redacted line."""
        return redact(super().format(record)).replace("\n", " | ")


def setup_logging(settings: LoggingSection, *, stream: object = None) -> None:
    """Route the ``kiosk`` loggers to standard error and, if configured, a rotated file."""
    root = logging.getLogger("kiosk")
    root.setLevel(settings.level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    console = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    console.setFormatter(RedactingFormatter("%(levelname)s %(name)s %(message)s"))
    root.addHandler(console)
    if settings.file:
        rotating = logging.handlers.RotatingFileHandler(
            settings.file, maxBytes=settings.max_bytes, backupCount=settings.backups, encoding="utf-8"
        )
        rotating.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(rotating)
    root.propagate = False
