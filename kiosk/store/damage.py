"""Telling a damaged station database from a new one, so that a lost queue is never recreated silently.

SQLite opens an empty file (or creates a missing one) as a new, empty
database: a station whose ``kiosk.db`` was truncated to zero bytes by a bad
disk or a careless copy would carry on with "no records" while the photos,
phone numbers and claim tickets of its unsent queue are gone. So the store
writes a marker file beside the database once it is first created, and before
every open looks at the file: missing, empty, cut short or not a database at
all in a folder that has held data (the marker, photos, quarantine, a
journal) is damage. The store then refuses to open (``DatabaseDamaged``),
the doctor says so, and ``kiosk records recover`` rebuilds what it can.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kiosk import durable
from kiosk.store.errors import DatabaseDamaged

DB_NAME = "kiosk.db"
#: written beside the database once its schema is first committed
MARKER = "kiosk.db.marker"
#: the files SQLite keeps beside the database
SIDE_FILES = ("-wal", "-shm", "-journal")
_MAGIC = b"SQLite format 3\x00"
_HEADER = 100

#: kinds of damage, each with a strings key ``store.damage.<kind>``
KINDS = ("missing", "empty", "truncated", "not_database", "malformed", "blank")


@dataclass(frozen=True)
class Damage:
    """What is wrong with the database file, and what shows the folder held data."""

    kind: str
    detail: str
    evidence: tuple[str, ...] = ()

    def error(self, path: Path) -> DatabaseDamaged:
        """The typed error naming the damage, for the station, the command line and the doctor."""
        return DatabaseDamaged.of(self.kind, f"{self.kind}: {self.detail}", path)


def held_data(data_dir: Path) -> list[str]:
    """What in ``data_dir`` shows a database was there: the marker, photos, quarantine, a SQLite journal."""
    found = []
    if (data_dir / MARKER).exists():
        found.append(MARKER)
    for folder in ("photos", "quarantine"):
        with contextlib.suppress(OSError), os.scandir(data_dir / folder) as entries:
            if any(not durable.is_temporary(e.name) for e in entries):
                found.append(folder)
    for suffix in ("-wal", "-journal"):
        with contextlib.suppress(OSError):
            if (data_dir / f"{DB_NAME}{suffix}").stat().st_size > 0:
                found.append(f"{DB_NAME}{suffix}")
    return found


def diagnose(data_dir: Path) -> Damage | None:
    """The damage of ``data_dir``'s database file, or None when it is sound or rightly absent (a new station).

    Only the file is looked at (its size and SQLite's header); damage inside
    pages shows itself as ``malformed`` when SQLite reads them.
    """
    path = data_dir / DB_NAME
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        evidence = tuple(held_data(data_dir))
        return Damage("missing", "no database file", evidence) if evidence else None
    if size == 0:
        evidence = tuple(held_data(data_dir))
        return Damage("empty", "0 bytes", evidence) if evidence else None
    evidence = ()
    try:
        with path.open("rb") as fh:
            header = fh.read(_HEADER)
    except OSError as exc:
        return Damage("malformed", f"unreadable errno={exc.errno}", evidence)
    if len(header) < _HEADER:
        return Damage("truncated" if _MAGIC.startswith(header[:16]) else "not_database", f"{size} bytes", evidence)
    if not header.startswith(_MAGIC):
        return Damage("not_database", "no SQLite header", evidence)
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return Damage("not_database", f"page size {page_size}", evidence)
    pages = int.from_bytes(header[28:32], "big")
    # the header's page count is only kept up to date when these two counters agree
    counted = header[24:28] == header[92:96] and pages > 0
    if size % page_size or (counted and size < pages * page_size):
        return Damage("truncated", f"{size} bytes, {pages} pages of {page_size} expected", evidence)
    return None


def write_marker(data_dir: Path, now: datetime | None = None) -> None:
    """Write the marker (once): from now on a missing or empty database in this folder is damage."""
    path = data_dir / MARKER
    if path.exists():
        return
    when = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    durable.write_file(path, (
        f"created={when}\n"
        "# This folder holds a kiosk station's records. The marker tells the station that the database\n"
        "# kiosk.db existed: if it is ever missing or empty, the station stops instead of starting afresh.\n"
        "# Do not delete it; see `kiosk records recover`.\n").encode())
