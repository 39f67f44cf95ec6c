"""A student's details for ``kiosk records add`` from standard input or a file, not the command line.

Whatever is typed as an argument is readable by every user of the machine in
``/proc/PID/cmdline`` (and ``ps``) while the command runs, and stays in the
shell's history. ``--details-from FILE`` (``-`` for standard input) takes the
phone number, the ID's last four, the name and the code payload instead, as
a JSON object or as ``key=value`` lines::

    printf 'phone=13800138000\\nid_last4=123X\\nname=张三\\n' | kiosk records add ... --codeless --details-from -
"""

from __future__ import annotations

import argparse
import json
from typing import BinaryIO

from kiosk.errors import KioskError
from kiosk.userfiles import FileTooLarge, read_input

#: keys accepted in the details, with the option each stands for
KEYS = {"phone": "phone", "id_last4": "id_last4", "id-last4": "id_last4", "last4": "id_last4", "name": "name",
        "code_payload": "code_payload", "code-payload": "code_payload"}
#: a few lines of text; a larger input is a wrong file
MAX_BYTES = 64_000


class DetailsError(KioskError):
    """Details that cannot be used; the message names the line or the key."""

    default_key = "records.details_bad_line"


def parse_details(text: str) -> dict[str, str]:
    """The details in ``text`` (a JSON object or ``key=value`` lines), keyed by option name."""
    found: dict[str, str] = {}
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            raise DetailsError("records.details_bad_line", "json", line=1) from None
        pairs = list(data.items()) if isinstance(data, dict) else []
    else:
        pairs = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep:
                raise DetailsError("records.details_bad_line", f"line {number}", line=number)
            pairs.append((key.strip(), value.strip()))
    for key, value in pairs:
        option = KEYS.get(str(key).strip().lower())
        if option is None:
            raise DetailsError("records.details_unknown_key", "unknown key", field=str(key)[:40])
        if not isinstance(value, str):
            raise DetailsError("records.details_not_text", "not text", field=option)
        if option in found:
            raise DetailsError("records.details_twice", "twice in the details", field=option)
        found[option] = value
    return found


def read_details(source: str, stdin: BinaryIO) -> dict[str, str]:
    """The details from ``source``: a file path, or ``-`` for ``stdin``."""
    try:
        raw = stdin.read(MAX_BYTES + 1) if source == "-" else read_input(source, MAX_BYTES)
    except FileTooLarge:
        raw = b"x" * (MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise DetailsError("records.details_too_large", f"over {MAX_BYTES} bytes", max_kb=MAX_BYTES // 1000)
    try:
        return parse_details(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise DetailsError("records.details_not_utf8", "not UTF-8") from None


def apply_details(args: argparse.Namespace, details: dict[str, str]) -> None:
    """Fill ``args`` from ``details``; a detail also given as an option is refused (which one is meant?)."""
    for option, value in details.items():
        if getattr(args, option, None):
            raise DetailsError("records.details_twice", "also on the command line", field=option)
        setattr(args, option, value)
