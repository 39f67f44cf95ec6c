"""Operator logs: one structured line per event, journald-friendly, never personal data.

Every module logs through ``logging.getLogger(__name__)`` with short event
messages (``"record.sent id=%s"``). Such a message becomes one ``key=value``
line::

    level=info logger=kiosk.sync event=record.sent id=5f0c...

and any other message is kept whole as ``msg="..."``. Under systemd (stderr
connected to the journal, ``$JOURNAL_STREAM``) each line starts with a
``<N>`` syslog priority, so ``journalctl -p warning`` works, and carries no
timestamp because journald adds its own; in a terminal or a file it starts
with ``ts=``.

Ids of records are fine; names, ID digits, phone numbers and code payloads
are not. A redaction pass over every finished line masks anything that looks
like them, in case a caller slips: values of personal keys (``student_name=``,
``phone=``, ``payload=`` ...; a bare ``name=`` names screens and cameras), ID numbers (mainland, Hong Kong, Macau,
Taiwan, masked), mobile numbers, reference-format payloads and other long
opaque tokens, and any run of Chinese characters (operator logs are ASCII
events, so Chinese text in a line is most likely a name). A Latin-script name
in free text cannot be told from other words: callers must never log one.

A logged value cannot forge a line or a field: control characters (C0, DEL,
C1, the Unicode line separators) in a message's arguments and in the finished
line are written as ``\\xNN`` escapes, and an argument holding a space or a
quote is written quoted, so ``path=%s`` given ``/a\\r\\nlevel=error b=c`` stays
one line with one ``path`` field. Refusals (events such as ``bind.refused`` or
``edge.refused``) are written at most ``RefusalThrottle.burst`` times a minute
each; the next line written says how many were held back (``held_back=N``),
so a flood of refused requests cannot flood the journal.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import re
import sys
import time
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from kiosk.config import ConfigError, LoggingSection, load_server, load_station

#: keys whose values are personal data whatever they look like
PERSONAL_KEYS = (
    "student_name", "full_name", "person", "masked_name", "phone", "mobile", "payload", "code_payload", "code_text",
    "id_last4", "last4", "last_four", "id_tail", "masked_id", "id_number", "student_uid", "student_number",
)

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_ID_CHARS = r"0-9A-Za-z()（）"

# Patterns of personal data that must never reach a log line, applied in order.
_REDACTIONS: list[tuple[re.Pattern[str], str]] = [
    # reference-format code payloads
    (re.compile(r"KC\d+\.[A-Za-z0-9_.~+/=-]{8,}"), "[code]"),
    # masked ID numbers and masked phones as printed on codes: 1101**********123X, ****123X, 138****8000
    (re.compile(rf"(?<![\w*＊])[{_ID_CHARS}]{{0,6}}[*＊]{{4,}}[{_ID_CHARS}]{{1,6}}"), "[id]"),
    # mainland ID numbers: 15 or 18 characters, the last a digit or X
    (re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])"), "[id]"),
    # Hong Kong (A123456(7)), Macau (1234567(8)) and Taiwan (A123456789) documents
    (re.compile(r"(?<![0-9A-Za-z])(?:[A-Z]{1,2}\d{6}[(（][0-9A][)）]|[1578]\d{6}[(（]\d[)）]|[A-Z][12]\d{8})"
                r"(?![0-9A-Za-z])"), "[id]"),
    # mainland mobile numbers, with or without +86 and separators
    (re.compile(r"(?<![\d+])(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)"), "[phone]"),
    # runs of Chinese characters (names, masked names such as 张*明); a run of stars is
    # entered only at its start and never given back, or a long one costs quadratic time
    (re.compile(rf"(?<![*＊])[*＊]*+[{_CJK}][{_CJK}·•*＊]*"), "[text]"),
    # values of personal keys, quoted or bare, as key=value or as a dict's or JSON's "key": value;
    # last, so that a bare value with spaces (phone=138 0013 8000) has been masked whole above
    (re.compile(r"(?<![\w.])([\"']?)(" + "|".join(PERSONAL_KEYS) + r")\1(\s*[=:]\s*)"
                r"(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s,;)}]+)", re.IGNORECASE), r"\1\2\1\3[redacted]"),
]

# Long opaque tokens (encrypted payloads, bearer tokens); judged by _opaque below.
_TOKEN = re.compile(r"(?<![A-Za-z0-9_\-+/=.~])[A-Za-z0-9_\-+/=.~]{24,}")
_EVENT = re.compile(r'^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+(?: [A-Za-z_][\w.]*=(?:"(?:[^"\\]|\\.)*"|\S*))*$')
# C0 controls, DEL, C1 controls and the Unicode line and paragraph separators
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: the last part of the event names that are refusals (their repetition is throttled)
REFUSAL_EVENTS = frozenset({"refused", "invalid", "rate_limited", "unknown_ticket", "locked", "in_flight",
                            "conflict", "ticket_taken"})


def escape_controls(text: str) -> str:
    """``text`` with every control character written as a ``\\xNN`` (or ``\\uNNNN``) escape."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", text)


def log_value(value: object) -> object:
    """A message argument as logged: numbers as they are, anything else as escaped text, quoted if it has spaces.

    The text is NFKC-folded first (as the finished line is before redaction),
    so that a full-width space or quote cannot turn into a real one afterwards.
    """
    if value is None or isinstance(value, int | float):
        return value
    text = unicodedata.normalize("NFKC", str(value))
    if any(c.isspace() or c == '"' for c in text):
        text = _quote(text)
    return escape_controls(text)


def _mixed(text: str) -> bool:
    return any(c.isupper() for c in text) and any(c.islower() for c in text) and any(c.isdigit() for c in text)


def _opaque(match: re.Match[str]) -> str:
    """``[token]`` for what looks random (upper, lower and digits in a long run), else unchanged.

    Record ids (hex UUIDs), hashes and file paths are not random-looking by
    this measure and stay readable.
    """
    token = match.group(0)
    longest = max(re.split(r"[/.]", token), key=len)
    return "[token]" if len(longest) >= 16 and _mixed(longest) else token


def redact(message: str) -> str:
    """``message`` with anything that looks like personal data masked.

    The line is NFKC-folded first, so full-width digits and letters (as a
    Chinese input method types them) meet the same patterns as ASCII ones.
    """
    message = unicodedata.normalize("NFKC", message)
    for pattern, mask in _REDACTIONS:
        message = pattern.sub(mask, message)
    return _TOKEN.sub(_opaque, message)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# syslog priorities of Python's levels, for journald's "<N>" line prefix
_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


class StructuredFormatter(logging.Formatter):
    """One redacted ``key=value`` line per record (see the module docstring)."""

    def __init__(self, *, journald: bool = False) -> None:
        super().__init__()
        self.journald = journald

    def format(self, record: logging.LogRecord) -> str:
        """The record as one redacted line."""
        try:
            text = _message(record)
        except (TypeError, ValueError, KeyError):
            # a caller's format and arguments do not fit: logging's own fallback would print
            # the raw arguments to standard error, so the line goes out without them
            text = f"{record.msg} (arguments did not fit the message)"
        held_back = getattr(record, "held_back", 0)
        if held_back:
            text += f" held_back={held_back}"
        message = escape_controls(text)
        body = f"event={message}" if _EVENT.match(message) else f"msg={escape_controls(_quote(text))}"
        parts = [f"level={record.levelname.lower()}", f"logger={record.name}", body]
        if record.exc_info:
            exc_type = record.exc_info[0]
            parts.append(f"exc={exc_type.__name__ if exc_type else 'None'}")
            trace = self.formatException(record.exc_info).replace(chr(10), " | ")
            parts.append(f"trace={_quote(escape_controls(trace))}")
        if self.journald:
            prefix = f"<{_PRIORITY.get(record.levelno, 6)}>"
        else:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created))
            prefix = f"ts={stamp}.{int(record.msecs):03d} "
        return prefix + redact(" ".join(parts))


#: the earlier name of the formatter
RedactingFormatter = StructuredFormatter


def _message(record: logging.LogRecord) -> str:
    """The record's message with each argument made safe by ``log_value``."""
    msg = str(record.msg)
    args = record.args
    if not args:
        return msg
    if isinstance(args, Mapping):
        return msg % {key: log_value(value) for key, value in args.items()}
    return msg % tuple(log_value(value) for value in args)


def _event(record: logging.LogRecord) -> str:
    return record.msg.split(" ", 1)[0] if isinstance(record.msg, str) else ""


class RefusalThrottle(logging.Filter):
    """Lets each refusal event through at most ``burst`` times per ``window_s``; counts the rest.

    Warnings and errors always pass. The first line of an event let through
    after some were held back carries their number (``held_back=N``).
    """

    def __init__(self, burst: int = 20, window_s: float = 60.0, clock: Any = time.monotonic) -> None:
        super().__init__()
        self.burst = burst
        self.window_s = window_s
        self._clock = clock
        #: per event: start of its window, lines written in it, lines held back since the last written
        self._seen: dict[str, list[float]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` is written."""
        event = _event(record)
        if record.levelno > logging.INFO or event.rsplit(".", 1)[-1] not in REFUSAL_EVENTS:
            return True
        now = self._clock()
        seen = self._seen.setdefault(event, [now, 0, 0])
        if now - seen[0] >= self.window_s:
            seen[0], seen[1] = now, 0
        if seen[1] >= self.burst:
            seen[2] += 1
            return False
        seen[1] += 1
        if seen[2]:
            record.held_back = int(seen[2])
            seen[2] = 0
        return True


def on_journal(stream: Any, env: Mapping[str, str]) -> bool:
    """Whether ``stream`` is the journal's stream (``$JOURNAL_STREAM`` is its ``device:inode``)."""
    expected = env.get("JOURNAL_STREAM", "")
    if not expected:
        return False
    try:
        info = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return expected == f"{info.st_dev}:{info.st_ino}"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each record (tests swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        """The current standard error."""
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def setup_logging(settings: LoggingSection, *, stream: TextIO | None = None,
                  env: Mapping[str, str] | None = None) -> None:
    """Route all logs to standard error and, if configured, a rotated file, as redacted lines.

    The handlers go on the root logger so that library logs (HTTP clients,
    the server framework) are formatted and redacted too; calling this again
    replaces only the handlers it added before. ``$KIOSK_LOG_LEVEL`` and
    ``$KIOSK_LOG_FILE`` override the settings (for a one-off
    ``KIOSK_LOG_LEVEL=DEBUG kiosk doctor``). A log file that cannot be opened is
    reported on standard error and skipped: logging never stops the station.
    """
    env = os.environ if env is None else env
    level = env.get("KIOSK_LOG_LEVEL", "").upper() or settings.level
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        level = settings.level
    file = env.get("KIOSK_LOG_FILE") or settings.file
    root = logging.getLogger()
    root.setLevel(level)
    for old in [h for h in root.handlers if getattr(h, "_kiosk", False)]:
        root.removeHandler(old)
        old.close()
    console: logging.Handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    console.setFormatter(StructuredFormatter(journald=on_journal(stream or sys.stderr, env)))
    _add(root, console)
    if file:
        try:
            Path(file).parent.mkdir(parents=True, exist_ok=True)
            rotating = logging.handlers.RotatingFileHandler(
                file, maxBytes=settings.max_bytes, backupCount=settings.backups, encoding="utf-8"
            )
        except OSError as exc:
            logging.getLogger(__name__).warning("log.file_unavailable errno=%s", exc.errno)
            return
        rotating.setFormatter(StructuredFormatter())
        _add(root, rotating)


def _add(root: logging.Logger, handler: logging.Handler) -> None:
    handler._kiosk = True  # type: ignore[attr-defined]
    handler.addFilter(RefusalThrottle())
    root.addHandler(handler)


def settings_for(config_path: str | Path | None) -> LoggingSection:
    """The ``[logging]`` section of a station or server config file; defaults when unusable.

    A broken config is the subcommand's to report (with its file and key);
    logging must be up before that, so here it just falls back to defaults.
    """
    if config_path is None:
        return LoggingSection()
    for loader in (load_station, load_server):
        try:
            return loader(config_path).logging
        except ConfigError:
            continue
    return LoggingSection()


def setup_from_args(args: argparse.Namespace) -> None:
    """Set logging up for a ``kiosk`` subcommand from its ``--config``, if it has one."""
    setup_logging(settings_for(getattr(args, "config", None)))
