"""Delivery: a batch's confirmed photos as files named by a rule, with a manifest and a summary.

``plan`` decides the file names (pure): one file per student, the latest
confirmed record of each, named by the student number or the student's uid;
a name two students would share gets the record's short id appended, so no
photo is exported twice and no name is used twice. ``write_export`` writes the
photos (checked against their sha256), ``manifest.csv`` (UTF-8 with a BOM so
Excel opens it as such) and ``summary.txt`` (what is not yet confirmed) into
an empty folder, or the same into one zip file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import shutil
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from kiosk.batch import BatchError, normalise_feature_code
from kiosk.errors import KioskError
from kiosk.server.blobs import BlobStore
from kiosk.server.db import Database
from kiosk.server.tables import batches, records
from kiosk.text import bilingual

log = logging.getLogger(__name__)

NAME_RULES = ("student_number", "student_uid")
MANIFEST = "manifest.csv"
SUMMARY = "summary.txt"
COLUMNS = ("file", "student_number", "masked_name", "school", "level", "captured_at", "station", "reviewer",
           "sha256")
#: statuses counted in the summary as "not yet confirmed", in the order they are said
PENDING = ("queued", "approved", "rejected", "awaiting_code")
_UNSAFE = re.compile(r"[^0-9A-Za-z._-]+")


class ExportError(KioskError):
    """An export that cannot be made (unknown batch, folder not empty, a photo file missing)."""

    default_key = "student.export.unwritable"


@dataclass(frozen=True)
class ExportRow:
    """One confirmed record, as the manifest lists it."""

    record_id: str
    student_uid: str
    student_number: str
    masked_name: str
    school: str
    level: str
    captured_at: datetime
    station_id: str
    reviewer: str
    photo_sha256: str


@dataclass(frozen=True)
class Planned:
    """A file to write: its name and the record behind it."""

    name: str
    row: ExportRow


def safe_stem(text: str) -> str:
    """``text`` as a file name stem any file system and zip reader takes (letters, digits, ``._-``)."""
    stem = _UNSAFE.sub("_", text.strip()).strip("._")
    return stem[:64]


def plan(rows: Iterable[ExportRow], rule: str) -> list[Planned]:
    """The files of an export by ``rule``, sorted by name.

    One file per student (by uid; a record without one stands alone): the latest
    capture among their confirmed records. The name is the rule's field, then the
    other field, then the record's short id when both are empty; a name taken by
    another student gets ``-<short id>`` appended.
    """
    if rule not in NAME_RULES:
        raise ValueError(f"unknown name rule {rule!r}")
    latest: dict[str, ExportRow] = {}
    for row in rows:
        key = row.student_uid or f"record:{row.record_id}"
        kept = latest.get(key)
        if kept is None or (row.captured_at, row.record_id) > (kept.captured_at, kept.record_id):
            latest[key] = row
    seen_photos: set[str] = set()
    chosen: list[ExportRow] = []
    for row in sorted(latest.values(), key=lambda r: (r.captured_at, r.record_id)):
        if row.photo_sha256 in seen_photos:  # the same bytes twice are one photo, exported once
            continue
        seen_photos.add(row.photo_sha256)
        chosen.append(row)
    other = "student_uid" if rule == "student_number" else "student_number"
    stems: dict[str, list[ExportRow]] = {}
    for row in chosen:
        stem = safe_stem(getattr(row, rule)) or safe_stem(getattr(row, other)) or row.record_id[:8].upper()
        stems.setdefault(stem, []).append(row)
    out: list[Planned] = []
    for stem, group in stems.items():
        for row in group:
            name = stem if len(group) == 1 else f"{stem}-{row.record_id[:8].upper()}"
            out.append(Planned(name=f"{name}.jpg", row=row))
    return sorted(out, key=lambda p: p.name)


def manifest_csv(files: Iterable[Planned], zone: ZoneInfo) -> bytes:
    """``manifest.csv``: UTF-8 with a byte-order mark, one line per file, ``COLUMNS`` in order."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for item in files:
        r = item.row
        writer.writerow([item.name, r.student_number, r.masked_name, r.school, r.level,
                         r.captured_at.astimezone(zone).isoformat(timespec="seconds"), r.station_id, r.reviewer,
                         r.photo_sha256])
    return buf.getvalue().encode("utf-8-sig")


def summary_text(batch: str, exported: int, pending: Mapping[str, int]) -> str:
    """``summary.txt``: how many were exported and how many of each kind are not yet confirmed."""
    counts = {status: int(pending.get(status, 0)) for status in PENDING}
    return (f"{batch}\n{bilingual('student.export.done', n=exported, dir=batch)}\n"
            f"{bilingual('student.export.pending', **counts)}\n")


def check_out_dir(out: Path) -> None:
    """Refuse a folder that exists and is not empty (an export never mixes with other files)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError("student.export.not_empty", detail=f"{out}: not empty", dir=str(out))


def write_export(out: Path, batch: str, files: list[Planned], pending: Mapping[str, int],
                 read_photo: Callable[[str], bytes], *, zone: ZoneInfo, as_zip: bool = False) -> Path:
    """Write the export into the empty folder ``out``; the folder, or the zip file in it.

    ``read_photo(sha256)`` returns the stored bytes; a photo whose bytes do not
    hash to its sha256 stops the export (and what was written is removed).
    """
    check_out_dir(out)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError("student.export.unwritable", detail=f"{out}: {exc.strerror}", dir=str(out),
                          reason=exc.strerror or str(exc)) from None
    try:
        contents: list[tuple[str, bytes]] = []
        for item in files:
            data = _checked(read_photo, item.row)
            contents.append((item.name, data))
        contents.append((MANIFEST, manifest_csv(files, zone)))
        contents.append((SUMMARY, summary_text(batch, len(files), pending).encode("utf-8")))
        if as_zip:
            target = out / f"{safe_stem(batch) or 'export'}.zip"
            with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
                for name, data in contents:
                    archive.writestr(name, data)
        else:
            for name, data in contents:
                (out / name).write_bytes(data)
            target = out
    except OSError as exc:
        _undo(out, created)
        raise ExportError("student.export.unwritable", detail=f"{out}: {exc.strerror}", dir=str(out),
                          reason=exc.strerror or str(exc)) from None
    except ExportError:
        _undo(out, created)
        raise
    log.info("export.done batch=%s files=%d zip=%s", batch, len(files), as_zip)
    return target


def _checked(read_photo: Callable[[str], bytes], row: ExportRow) -> bytes:
    short = row.record_id[:8].upper()
    try:
        data = read_photo(row.photo_sha256)
    except OSError:
        data = b""
    if hashlib.sha256(data).hexdigest() != row.photo_sha256:
        log.error("export.photo_bad record=%s", row.record_id)
        raise ExportError("student.export.photo_missing", detail=f"record {row.record_id}", short=short)
    return data


def _undo(out: Path, created: bool) -> None:
    """Leave the folder as it was found: removed when the export made it, emptied otherwise."""
    if created:
        shutil.rmtree(out, ignore_errors=True)
        return
    for child in out.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: where, how many photos, and the counts not yet confirmed."""

    target: Path
    exported: int
    pending: dict[str, int]


def batch_rows(db: Database, feature_code: str) -> tuple[str, list[ExportRow], dict[str, int]]:
    """The batch's normalised code, its confirmed records and its counts by other status.

    ``ExportError`` for a batch the server does not know.
    """
    try:
        code = normalise_feature_code(feature_code)
    except BatchError:
        code = ""
    r = records.c
    with db.read() as conn:
        data = conn.execute(select(batches.c.data).where(batches.c.feature_code == code)).scalar() if code else None
        if data is None:
            raise ExportError("student.export.unknown_batch", detail=f"unknown batch {feature_code!r}",
                              batch=feature_code)
        school = str(json.loads(data).get("school_name", ""))
        rows = conn.execute(select(r.record_id, r.student_uid, r.code_json, r.captured_at, r.station_id,
                                   r.reviewed_by, r.photo_sha256)
                            .where(r.batch == code, r.status == "confirmed")).all()
        counts = {str(s): int(n) for s, n in conn.execute(
            select(r.status, func.count()).where(r.batch == code, r.status != "confirmed").group_by(r.status))}
    out = []
    for row in rows:
        fields = json.loads(row.code_json) if row.code_json else {}
        out.append(ExportRow(
            record_id=str(row.record_id), student_uid=str(row.student_uid or fields.get("student_uid") or ""),
            student_number=str(fields.get("student_number") or ""), masked_name=str(fields.get("masked_name") or ""),
            school=str(fields.get("school_name") or school), level=str(fields.get("level") or ""),
            captured_at=datetime.fromisoformat(str(row.captured_at)), station_id=str(row.station_id),
            reviewer=str(row.reviewed_by or ""), photo_sha256=str(row.photo_sha256)))
    return code, out, counts


def _read_photo(photos: BlobStore, sha: str) -> bytes:
    """A photo's bytes; ``FileNotFoundError`` when the store has none (a damaged store refuses the export)."""
    data = photos.get(sha)
    if data is None:
        raise FileNotFoundError(sha)
    return data


def export_batch(db: Database, photos: BlobStore, feature_code: str, out: Path, *, rule: str = "student_number",
                 as_zip: bool = False, zone: ZoneInfo) -> ExportResult:
    """``kiosk server export``: the batch's confirmed photos, manifest and summary into the empty ``out``."""
    check_out_dir(out)
    code, rows, pending = batch_rows(db, feature_code)
    files = plan(rows, rule)
    target = write_export(out, code, files, pending, partial(_read_photo, photos), zone=zone,
                          as_zip=as_zip)
    return ExportResult(target=target, exported=len(files), pending=pending)
