"""What the store checks when it opens, and the quarantine folder it moves doubtful data into.

Nothing a student gave us is ever deleted here. A photo file without a row
(a crash between the file's rename and the row's commit), and a row whose
photo is missing or does not match its sha256 (a damaged disk, a hand edit),
are moved aside into ``quarantine/`` and reported, so an operator can look at
them; an unsent record whose photo is gone cannot be uploaded and becomes
``dead`` with the reason, instead of being retried for ever. A photo that
cannot be read just now (an I/O or permission error) is only reported.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk import durable
from kiosk.store.record import card_path

if TYPE_CHECKING:
    from kiosk.store import Store

log = logging.getLogger(__name__)

CHECK_MODES = ("unsent", "all", "none")

#: a photo file younger than this may belong to a capture another process is committing right now
ORPHAN_MIN_AGE_S = 120.0


@dataclass
class StartupReport:
    """What opening the store found and did."""

    schema_from: int = 0
    schema_to: int = 0
    leases_recovered: int = 0
    orphans: list[str] = field(default_factory=list)  # file names moved to quarantine/
    missing: list[str] = field(default_factory=list)  # record ids whose photo is missing
    corrupt: list[str] = field(default_factory=list)  # record ids whose photo fails its sha256
    unreadable: list[str] = field(default_factory=list)  # record ids whose photo could not be read now (left as is)
    quarantine_dir: Path | None = None

    @property
    def clean(self) -> bool:
        """Whether nothing had to be moved aside."""
        return not (self.orphans or self.missing or self.corrupt)

    def summary(self) -> dict[str, int]:
        """Counts for logs and the doctor."""
        return {"leases_recovered": self.leases_recovered, "orphans": len(self.orphans),
                "missing": len(self.missing), "corrupt": len(self.corrupt), "unreadable": len(self.unreadable)}


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file's content."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def move_aside(path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder`` under a name not yet taken there; the new path."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = folder / path.name.lstrip(".")
    n = 1
    while target.exists():
        target = folder / f"{path.name.lstrip('.')}.{n}"
        n += 1
    os.replace(path, target)
    durable.fsync_dir(folder)
    durable.fsync_dir(path.parent)
    return target


def check_at_open(store: Store, mode: str, orphan_min_age_s: float = ORPHAN_MIN_AGE_S) -> StartupReport:
    """Find orphan photos and missing or corrupt ones; move them aside; report."""
    report = StartupReport(quarantine_dir=store.quarantine_dir)
    if mode not in CHECK_MODES or mode == "none":
        return report
    conn = store.conn
    referenced: set[str] = set()
    for row in conn.execute("SELECT photo_path, original_path FROM records"):
        referenced.update(Path(rel).name for rel in (row[0], row[1], card_path(row[0])) if rel)
    newest = store.now().timestamp() - orphan_min_age_s
    for entry in sorted(os.scandir(store.photos_dir), key=lambda e: e.name):
        if entry.is_file() and entry.name not in referenced and entry.stat().st_mtime <= newest:
            try:
                move_aside(Path(entry.path), store.quarantine_dir / "orphans")
            except FileNotFoundError:  # another process opening the store moved it first
                continue
            report.orphans.append(entry.name)
            log.warning("store.orphan_photo file=%s", entry.name)
    where = "photo_deleted_at IS NULL AND quarantined IS NULL"
    if mode == "unsent":
        where += " AND sync_state IN ('pending', 'sending', 'retry')"
    rows = conn.execute(f"SELECT * FROM records WHERE {where}").fetchall()
    for row in rows:
        problem = _photo_problem(store.data_dir, row)
        if problem == "photo_unreadable":
            # EIO, EACCES ... may pass, and the photo may be sound: it stays, the sync retries it
            report.unreadable.append(row["id"])
            log.warning("store.photo_unreadable id=%s", row["id"])
        elif problem and _quarantine_record(store, row, problem):
            (report.missing if problem == "photo_missing" else report.corrupt).append(row["id"])
    return report


def _photo_problem(data_dir: Path, row: sqlite3.Row) -> str | None:
    pairs = [(row["photo_path"], row["photo_sha256"])]
    if row["original_path"]:
        pairs.append((row["original_path"], row["original_sha256"]))
    for rel, expected in pairs:
        path = data_dir / rel
        try:
            if file_sha256(path) != expected:
                return "photo_corrupt"
        except FileNotFoundError:
            return "photo_missing"
        except OSError:
            return "photo_unreadable"
    return None


def _quarantine_record(store: Store, row: sqlite3.Row, problem: str) -> bool:
    """Move a record's files aside with a copy of its row; an unsent record becomes dead.

    False when another process opening the store at the same time did it first.
    """
    folder = store.quarantine_dir / row["id"]
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for rel in (row["photo_path"], row["original_path"], card_path(row["photo_path"])):
        if rel and (store.data_dir / rel).exists():
            try:
                move_aside(store.data_dir / rel, folder)
            except FileNotFoundError:
                continue
    durable.write_file(folder / "record.json", json.dumps(dict(row), ensure_ascii=False, indent=1).encode())
    unsent = row["sync_state"] in ("pending", "sending", "retry")
    with store.write() as conn:
        if unsent:
            changed = conn.execute("UPDATE records SET quarantined = ?, sync_state = 'dead', dead_reason = ?, "
                                   "lease_owner = NULL, lease_until = NULL, due_at = 0 "
                                   "WHERE id = ? AND quarantined IS NULL", (problem, problem, row["id"])).rowcount
        else:
            changed = conn.execute("UPDATE records SET quarantined = ? WHERE id = ? AND quarantined IS NULL",
                                   (problem, row["id"])).rowcount
        if changed:
            store.event(conn, row["id"], "quarantined", row["sync_state"], "dead" if unsent else row["sync_state"],
                        detail=problem)
    if changed:
        log.error("store.quarantined id=%s problem=%s", row["id"], problem)
    return bool(changed)
