"""``kiosk codes``: key files and reference collection codes for demos, rehearsals and tests.

``kiosk codes keygen --out FILE [--rotate]`` creates a key file (mode 0600),
or with ``--rotate`` adds a fresh current key to an existing one.

``kiosk codes issue --batch CODE --students FILE.csv --out DIR`` writes one QR
PNG per student and ``manifest.json``. The CSV is UTF-8 (a BOM is fine) with a
header row; its columns:

==================  =========================================================
``student_number``  required
``name``            the real name, masked on issue (or give ``masked_name``)
``id_number``       the real ID number; only its last four are kept, visible
                    (or give ``masked_id``)
``student_uid``     optional; derived from school code and student number
``level``           optional; default 本科
``school_code``,    optional per row; otherwise ``--school-code`` and
``school_name``     ``--school-name``
==================  =========================================================

The manifest lists, per code, its file, the masked fields, the payload and the
last four to type, so a rehearsal can walk through every student.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import segno

from kiosk import durable
from kiosk.batch import Batch, normalise_feature_code
from kiosk.cli.numbers import int_in
from kiosk.codes import MAX_PAYLOAD, DemoStudent, KeyFileError, KeyRing, demo_codes, issue_code, mask_id, mask_name
from kiosk.codes.collection_code import normalise_last_four
from kiosk.codes.reference_format import MAX_FIELD
from kiosk.config import load_station
from kiosk.errors import KioskError
from kiosk.userfiles import check_output, read_input_text

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
#: a student list of tens of thousands of rows is a few MB
MAX_STUDENTS_BYTES = 50_000_000
#: seals trial codes to measure their length (the length does not depend on the key, only on its id)
_SIZING_RING = KeyRing.of({"k": bytes(32)}, "k")
#: room for the longest key id a ring may use instead of the sizing ring's one character
_LONGEST_KEY_ID = 15


class StudentListError(KioskError):
    """A student list that cannot be used; the message names file and line."""

    default_key = "codes.students_bad"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``kiosk codes``."""
    sub = p.add_subparsers(dest="action", required=True)
    k = sub.add_parser("keygen", help="create a key file for the reference format (mode 0600)")
    k.add_argument("--out", type=Path, required=True, help="the key file to write")
    k.add_argument("--rotate", action="store_true", help="add a new current key to an existing file")
    i = sub.add_parser("issue", help="issue reference codes as QR images plus a manifest",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    i.add_argument("--batch", required=True, help="feature code of the batch (4-8 letters/digits)")
    i.add_argument("--students", type=Path, required=True, help="CSV of students (columns: see above)")
    i.add_argument("--out", type=Path, required=True, help="directory for the PNGs and manifest.json")
    i.add_argument("--keys", type=Path, help="key file (default: [codes] key_file of --config)")
    i.add_argument("--config", type=Path, help="station config file (kiosk.toml)")
    i.add_argument("--school-code", help="school code for rows without one")
    i.add_argument("--school-name", help="school name for rows without one")
    i.add_argument("--scale", type=int_in(1, 40), default=8, help="pixels per QR module in the PNGs (1-40, default 8)")



def run(args: argparse.Namespace) -> int:
    """Run ``kiosk codes``."""
    if args.action == "keygen":
        return _keygen(args.out, args.rotate)
    keys_path = args.keys or load_station(args.config).codes.key_file
    ring = KeyRing.load(keys_path)
    feature = normalise_feature_code(args.batch)
    students = read_students(args.students, args.school_code, args.school_name)
    entries = issue_all(ring, feature, students, args.out, scale=args.scale)
    print(f"{len(entries)} codes -> {args.out / MANIFEST} (key {ring.current})")
    return 0


def _keygen(out: Path, rotate: bool) -> int:
    if rotate:
        ring = KeyRing.load(out).rotated()
        ring.save(out, overwrite=True)
        print(f"{out}: new current key {ring.current}, {len(ring.keys)} keys")
    else:
        ring = KeyRing.generate(out)
        print(f"{out}: key {ring.current} (mode 0600)")
    log.info("codes.keygen key_id=%s rotate=%s", ring.current, rotate)
    return 0


def _row_error(file: Path, line: int, reason: str) -> StudentListError:
    return StudentListError(detail=f"{file}:{line}: {reason}", file=str(file), line=line, reason=reason)


def _getter(row: dict[str, str | None]) -> Any:
    return lambda key: (row.get(key) or "").strip()


def read_students(path: Path, school_code: str | None, school_name: str | None) -> list[dict[str, Any]]:
    """The rows of a student CSV as issuing fields (masked); ``StudentListError`` naming the line."""
    try:
        text = read_input_text(path, MAX_STUDENTS_BYTES, "utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise StudentListError("codes.students_unreadable", f"{path}: {type(exc).__name__}",
                               file=str(path)) from None
    reader = csv.DictReader(io.StringIO(text))
    try:
        return _rows(path, reader, school_code, school_name)
    except csv.Error as exc:  # a field beyond the csv module's limit, a stray quote in strict dialects
        raise _row_error(path, reader.line_num, f"not readable as CSV ({exc})") from None


def _rows(path: Path, reader: csv.DictReader[str], school_code: str | None,
          school_name: str | None) -> list[dict[str, Any]]:
    if not reader.fieldnames or "student_number" not in reader.fieldnames:
        raise _row_error(path, 1, "no student_number column")
    rows = []
    for row in reader:
        line = reader.line_num
        get = _getter(row)
        number = get("student_number")
        sc, sn = get("school_code") or school_code or "", get("school_name") or school_name or ""
        masked_name = get("masked_name") or mask_name(get("name"))
        id_number = get("id_number")
        masked = get("masked_id") or (mask_id(normalise_last_four(id_number)) if id_number else "")
        if not number:
            raise _row_error(path, line, "student_number is empty")
        if not sc or not sn:
            raise _row_error(path, line, "school_code/school_name missing (column or --school-code/--school-name)")
        if not masked_name:
            raise _row_error(path, line, "name (or masked_name) is empty")
        if len(normalise_last_four(masked)) < 4:
            raise _row_error(path, line, "id_number (or masked_id) has fewer than 4 characters")
        if "*" in normalise_last_four(masked)[-4:]:
            raise _row_error(path, line, "masked_id must show the last four characters of the ID")
        uid = get("student_uid") or uuid.uuid5(uuid.NAMESPACE_URL, f"kiosk-student/{sc}/{number}").hex
        fields = {"student_uid": uid, "school_code": sc, "school_name": sn, "student_number": number,
                  "masked_name": masked_name, "masked_id": masked, "level": get("level") or "本科"}
        long = [name for name, value in fields.items() if len(value) > MAX_FIELD]
        if long:
            raise _row_error(path, line, f"{long[0]} is longer than {MAX_FIELD} characters")
        # a code the station would refuse as too long (and a QR code too dense to scan) is not issued
        if len(issue_code(_SIZING_RING, fields)) > MAX_PAYLOAD - _LONGEST_KEY_ID:
            raise _row_error(path, line, "the fields together are too long for a collection code")
        rows.append(fields)
    if not rows:
        raise _row_error(path, 2, "no students")
    return rows


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name)[:40] or "code"


def write_png(payload: str, path: Path, scale: int = 8) -> Path:
    """``payload`` as a QR PNG (always full QR, medium error correction) at ``path``."""
    check_output(path)
    segno.make_qr(payload, error="m").save(str(path), kind="png", scale=max(1, scale), border=4)
    return path


def issue_all(ring: KeyRing, feature_code: str, students: list[dict[str, Any]], out: Path,
              *, scale: int = 8, now: datetime | None = None) -> list[dict[str, Any]]:
    """Seal one code per student, write their PNGs and ``manifest.json`` in ``out``; the manifest entries."""
    out.mkdir(parents=True, exist_ok=True)
    issued = now or datetime.now(UTC)
    entries = []
    for n, fields in enumerate(students, 1):
        payload = issue_code(ring, {**fields, "issued_at": issued})
        file = f"{n:04d}-{_safe(fields['student_number'])}.png"
        write_png(payload, out / file, scale)
        entries.append({"file": file, **fields, "last_four": normalise_last_four(fields["masked_id"])[-4:],
                        "payload": payload})
    manifest = {"batch": feature_code, "key_id": ring.current, "issued_at": issued.isoformat(),
                "codes": entries}
    durable.write_file(out / MANIFEST, (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode(),
                       mode=0o600)
    log.info("codes.issued count=%d key_id=%s", len(entries), ring.current)
    return entries


def prepare_demo(directory: Path, batch: Batch, n: int = 3,
                 now: datetime | None = None) -> tuple[KeyRing, Path, list[DemoStudent]]:
    """A demo key file (created once, mode 0600) and ``n`` demo students' codes as PNGs in ``directory``.

    Returns the ring, the key file's path and the students (payload, last four).
    """
    directory.mkdir(parents=True, exist_ok=True)
    key_file = directory / "code-keys.json"
    try:
        ring = KeyRing.load(key_file)
    except KeyFileError as exc:
        if exc.key != "codes.key_file_missing":
            raise
        ring = KeyRing.generate(key_file)
    students = demo_codes(ring, batch, n, now=now)
    for i, s in enumerate(students, 1):
        write_png(s.payload, directory / f"demo-{i}.png")
    return ring, key_file, students
