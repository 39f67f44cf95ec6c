"""``kiosk scan IMAGE...``: what the station would make of the codes in these images.

One JSON line per image, for an operator troubleshooting a code a student
shows (a screenshot, a photo of a printout)::

    {"image": "a.png", "ok": true, "kind": "code", "payload": "KC1....",
     "fields": {...masked fields...}, "error": null, "others": []}

``kind`` is "code", "ticket" or "other"; ``error`` holds ``key`` and
``message`` (Chinese / English) when the image cannot be read, holds no code,
or the code is refused. The exit status is 0 when every image held a usable
code or ticket, 1 otherwise. A file that is not an image is reported, never a crash.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.batch import Batch
from kiosk.codes import CodeBook, KeyRing
from kiosk.config import StationConfig, load_station
from kiosk.errors import KioskError
from kiosk.scanner import Scanner, classify
from kiosk.scanner.pictures import picture_gray
from kiosk.tickets import display, normalise_ticket
from kiosk.userfiles import FileTooLarge, read_input

log = logging.getLogger(__name__)

#: Larger files are not read (no camera image or screenshot is this big).
MAX_IMAGE_BYTES = 50_000_000


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``kiosk scan``."""
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    p.add_argument("--config", type=Path, help="station config file (kiosk.toml)")
    p.add_argument("--keys", type=Path, help="key file of the reference format (default: [codes] key_file)")
    p.add_argument("--school-code", help="also check the code belongs to this school (as a batch would)")


def _error(exc: KioskError) -> dict[str, str]:
    return {"key": exc.key, "message": exc.bilingual()}


def read_gray(path: Path) -> np.ndarray:
    """The image at ``path`` as 8-bit gray; ``KioskError`` (``scan.not_an_image``) when it is not one."""
    try:
        data = read_input(path, MAX_IMAGE_BYTES)  # a FIFO or a device is refused (NotRegularFile), not read
    except FileTooLarge:
        raise KioskError("scan.not_an_image", "too large") from None
    except OSError as exc:
        raise KioskError("scan.not_an_image", type(exc).__name__) from None
    image = picture_gray(data)
    if image is None:
        raise KioskError("scan.not_an_image", "undecodable or too many pixels")
    return image


def scan_image(path: Path, scanner: Scanner, *, book: CodeBook | None, book_error: KioskError | None = None,
               batch: Batch | None = None, now: datetime) -> dict[str, Any]:
    """The JSON-ready report of one image."""
    out: dict[str, Any] = {"image": str(path), "ok": False, "kind": None, "payload": None, "fields": None,
                           "error": None, "others": []}
    scanner.forget()  # each image on its own
    try:
        found = scanner.decode(read_gray(path))
    except KioskError as exc:
        out["error"] = _error(exc)
        return out
    if not found:
        out["error"] = _error(KioskError("scan.no_code"))
        return out
    text = found[0].text
    out["payload"], out["others"] = text, [d.text for d in found[1:]]
    out["kind"] = classify(text, book.claims if book is not None else None)
    if out["kind"] == "ticket":
        out["fields"] = {"ticket": display(normalise_ticket(text))}
        out["ok"] = True
        return out
    if book is None:
        out["error"] = _error(book_error or KioskError())
        return out
    try:
        out["fields"] = book.parse(text, batch, now).public_fields()
        out["ok"] = True
    except KioskError as exc:
        out["error"] = _error(exc)
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``kiosk scan``."""
    cfg: StationConfig = load_station(args.config)
    scanner = Scanner(cfg.scanner)
    book: CodeBook | None = None
    book_error: KioskError | None = None
    try:
        keys = KeyRing.load(args.keys) if args.keys else None
        book = CodeBook(cfg.codes, keys) if keys is not None else CodeBook.from_settings(cfg.codes)
    except KioskError as exc:  # the payloads are still worth printing without keys
        book_error = exc
        log.warning("scan.no_codebook key=%s", exc.key)
    batch = None
    if args.school_code:
        batch = Batch("SCAN", args.school_code, args.school_code, "", "")
    now = datetime.now(UTC)
    failures = 0
    for path in args.images:
        report = scan_image(path, scanner, book=book, book_error=book_error, batch=batch, now=now)
        failures += not report["ok"]
        print(json.dumps(report, ensure_ascii=False), flush=True)
    log.info("scan.done images=%d failed=%d", len(args.images), failures)
    return 1 if failures else 0


if __name__ == "__main__":  # pragma: no cover
    from kiosk.cli import main

    sys.exit(main(["scan", *sys.argv[1:]]))
