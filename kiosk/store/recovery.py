"""Rebuilding the station's records after its database was damaged (``kiosk records recover``).

Nothing is overwritten and nothing is deleted. The damaged database and the
files SQLite keeps beside it are moved, as they are, into
``damaged/<time>/`` for an expert; a new database is made; and each photo in
``photos/`` becomes a record again, from the best source there is:

1. its row, read out of a copy of the damaged database where SQLite can
   still read it;
2. its record card (``photos/<id>.json``, written with the photo at capture);
3. the photo file alone (its time is the file's): such a record cannot be
   sent (no batch, no code) and stays for the operator.

Every rebuilt record is marked for an operator's check: it is ``dead`` with
the reason ``recovered_from_row``, ``recovered_from_card`` or
``recovered_photo_only`` and an audit event, so nothing leaves the station
before a person has looked; ``kiosk records release-recovered`` then queues
the ones with their details (row or card) again. A record the server already
holds is safe to send again: its metadata is the same, so the server answers
it as a replay.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk import durable
from kiosk.store.damage import DB_NAME, MARKER, SIDE_FILES, Damage, diagnose
from kiosk.store.quarantine import file_sha256
from kiosk.store.record import card_path, format_time

if TYPE_CHECKING:
    from kiosk.store import Store

log = logging.getLogger(__name__)

DAMAGED = "damaged"
FROM_ROW, FROM_CARD, PHOTO_ONLY = "recovered_from_row", "recovered_from_card", "recovered_photo_only"
#: the reasons of records that carry their details and may be queued again after a check
RELEASABLE = (FROM_ROW, FROM_CARD)
_PHOTO = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jpg$")
#: the columns a rebuilt row takes over from its source; sync and review state start again
_CAPTURE_COLUMNS = ("id", "batch", "station_id", "code_payload", "code_fields", "student_uid", "id_last4", "codeless",
                    "ticket", "phone", "name", "captured_at", "captured_day", "monotonic_ns", "boot_id", "photo_path",
                    "photo_sha256", "photo_bytes", "original_path", "original_sha256")
#: columns added by later migrations, taken over when the source has them: the upload's metadata
#: must be what the server may already hold, or a replay is refused as a conflict
_LATER_COLUMNS = ("status_secret", "headwear_allowed", "server_ticket", "measurements")


@dataclass
class RecoveryReport:
    """What the recovery found and did."""

    damage: Damage
    kept_in: Path
    from_row: list[str] = field(default_factory=list)
    from_card: list[str] = field(default_factory=list)
    photo_only: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """Counts for the log and the command line."""
        return {"from_row": len(self.from_row), "from_card": len(self.from_card), "photo_only": len(self.photo_only)}


def find_damage(data_dir: Path) -> Damage | None:
    """The database's damage: the file's (``diagnose``), or pages SQLite cannot read, or a blank stand-in."""
    damage = diagnose(data_dir)
    path = data_dir / DB_NAME
    if damage is not None or not path.exists():
        return damage
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check(5)")]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return Damage("malformed", str(exc))
    if rows != ["ok"]:
        return Damage("malformed", "; ".join(rows[:3]))
    if version == 0 and (data_dir / MARKER).exists():
        return Damage("blank", "schema version 0", (MARKER,))
    return None


def recover(data_dir: Path, *, station_id: str, now: datetime | None = None) -> RecoveryReport | None:
    """Move the damaged database aside and rebuild the records into a new one; None when it is sound.

    ``station_id`` is given to records rebuilt from a photo alone.
    """
    from kiosk.store import Store

    data_dir = Path(data_dir)
    damage = find_damage(data_dir)
    if damage is None:
        return None
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    kept_in = _move_aside(data_dir, moment)
    log.warning("store.recovery_started kind=%s kept_in=%s", damage.kind, kept_in.name)
    rows = salvage_rows(kept_in / DB_NAME)
    report = RecoveryReport(damage, kept_in)
    with Store.open(data_dir, check_photos="none", fresh_after_damage=True) as store:
        for entry in sorted(os.scandir(store.photos_dir), key=lambda e: e.name):
            match = _PHOTO.match(entry.name)
            if not match or not entry.is_file():
                continue
            record_id = match.group(1)
            if store.get(record_id) is not None:
                continue
            row, source = _best_source(store, record_id, rows.get(record_id), station_id)
            _insert(store, row, source)
            {FROM_ROW: report.from_row, FROM_CARD: report.from_card, PHOTO_ONLY: report.photo_only}[source].append(
                record_id)
    log.warning("store.recovered %s", " ".join(f"{k}={v}" for k, v in report.summary().items()))
    return report


def _move_aside(data_dir: Path, moment: datetime) -> Path:
    """Move the database and its side files into a new ``damaged/<time>`` folder; that folder."""
    parent = data_dir / DAMAGED
    parent.mkdir(mode=0o700, exist_ok=True)
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    folder = parent / stamp
    n = 1
    while True:
        try:
            folder.mkdir(mode=0o700)
            break
        except FileExistsError:
            folder = parent / f"{stamp}.{n}"
            n += 1
    for name in (DB_NAME, *(DB_NAME + s for s in SIDE_FILES)):
        source = data_dir / name
        if source.exists():
            os.replace(source, folder / name)  # a new folder: nothing there to overwrite
    durable.fsync_dir(folder)
    durable.fsync_dir(data_dir)
    return folder


def salvage_rows(damaged: Path) -> dict[str, dict[str, Any]]:
    """The ``records`` rows SQLite can still read from a copy of a damaged database, by id (maybe none)."""
    out: dict[str, dict[str, Any]] = {}
    if not damaged.exists() or damaged.stat().st_size == 0:
        return out
    with tempfile.TemporaryDirectory(prefix="kiosk-salvage-") as tmp:
        copy = Path(tmp) / DB_NAME
        for suffix in ("", "-wal"):  # SQLite reads the copy's journal too; the kept originals stay untouched
            if Path(f"{damaged}{suffix}").exists():
                shutil.copyfile(f"{damaged}{suffix}", f"{copy}{suffix}")
        _fit_header(copy)
        try:
            conn = sqlite3.connect(copy, timeout=1)
        except sqlite3.Error:
            return out
        conn.row_factory = sqlite3.Row
        try:
            for row in conn.execute("SELECT * FROM records"):
                out[str(row["id"])] = dict(row)
        except sqlite3.Error as exc:  # read up to the first damaged page
            log.warning("store.salvage_stopped rows=%d error=%s", len(out), exc)
        finally:
            conn.close()
    return out


def _fit_header(copy: Path) -> None:
    """Make a cut-short copy readable: padded with empty pages to the length its header says.

    SQLite refuses a file shorter than its header says ("malformed"), and a
    schema whose pages lie past the end, even to read the pages that are all
    there, the records table's among them. The missing pages read as empty.
    """
    with copy.open("r+b") as fh:
        header = fh.read(100)
        if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
            return
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        if page_size < 512 or page_size & (page_size - 1):
            return
        size = copy.stat().st_size
        pages = max(int.from_bytes(header[28:32], "big"), -(-size // page_size))
        fh.truncate(pages * page_size)
        fh.seek(28)
        fh.write(pages.to_bytes(4, "big"))
        fh.seek(92)
        fh.write(header[24:28])  # the page count is trusted when this equals the change counter


def _read_card(path: Path) -> dict[str, Any] | None:
    try:
        card = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return card if isinstance(card, dict) else None


def _best_source(store: Store, record_id: str, salvaged: dict[str, Any] | None,
                 station_id: str) -> tuple[dict[str, Any], str]:
    """The record's row and where it came from: the damaged database, its card, or the photo alone."""
    photo_rel = f"{store.PHOTOS}/{record_id}.jpg"
    photo = store.data_dir / photo_rel
    sha = file_sha256(photo)
    for candidate, source in ((salvaged, FROM_ROW), (_read_card(store.data_dir / card_path(photo_rel)), FROM_CARD)):
        if candidate and candidate.get("id") == record_id and candidate.get("photo_sha256") == sha and all(
                k in candidate for k in _CAPTURE_COLUMNS):
            row = {k: candidate[k] for k in _CAPTURE_COLUMNS}
            row.update({k: candidate[k] for k in _LATER_COLUMNS if k in candidate})
            original = row["original_path"]
            if original and not (store.data_dir / original).exists():
                row["original_path"] = row["original_sha256"] = None
            return row, source
    captured = datetime.fromtimestamp(photo.stat().st_mtime, UTC)
    original_rel = f"{store.PHOTOS}/{record_id}.original.jpg"
    has_original = (store.data_dir / original_rel).exists()
    return {
        "id": record_id, "batch": "", "station_id": station_id, "code_payload": None, "code_fields": None,
        "student_uid": None, "id_last4": None, "codeless": 0, "ticket": None, "phone": None, "name": None,
        "captured_at": format_time(captured), "captured_day": captured.astimezone().date().isoformat(),
        "monotonic_ns": 0, "boot_id": "recovered", "photo_path": photo_rel, "photo_sha256": sha,
        "photo_bytes": photo.stat().st_size, "original_path": original_rel if has_original else None,
        "original_sha256": file_sha256(store.data_dir / original_rel) if has_original else None,
    }, PHOTO_ONLY


def _insert(store: Store, row: dict[str, Any], source: str) -> None:
    """Insert a rebuilt record, dead with the reason ``source`` until an operator releases it."""
    with store.write() as conn:
        try:
            conn.execute(f"INSERT INTO records ({', '.join(row)}, sync_state, due_at, dead_reason, last_error) "
                         f"VALUES ({', '.join('?' * len(row))}, 'dead', 0, ?, ?)", (*row.values(), source, source))
        except sqlite3.IntegrityError:  # two records claiming one ticket: the second keeps its photo, not the ticket
            row = {**row, "ticket": None}
            conn.execute(f"INSERT INTO records ({', '.join(row)}, sync_state, due_at, dead_reason, last_error) "
                         f"VALUES ({', '.join('?' * len(row))}, 'dead', 0, ?, ?)", (*row.values(), source, source))
        store.event(conn, row["id"], "recovered", None, "dead", detail=source)


def release_recovered(store: Store, record_ids: list[str] | None = None) -> list[str]:
    """Queue again the recovered records (all, or ``record_ids``) that carry their details; their ids.

    For the operator, after checking them (``kiosk records list --state dead``).
    A record rebuilt from its photo alone is never queued: it has no batch or code.
    """
    marks = ", ".join("?" * len(RELEASABLE))
    rows = store.conn.execute(f"SELECT id FROM records WHERE sync_state = 'dead' AND dead_reason IN ({marks}) "
                              "ORDER BY seq", RELEASABLE).fetchall()
    wanted = [r["id"] for r in rows if record_ids is None or r["id"] in record_ids]
    with store.write() as conn:
        for record_id in wanted:
            conn.execute("UPDATE records SET sync_state = 'pending', dead_reason = NULL, last_error = NULL, "
                         "due_at = 0 WHERE id = ?", (record_id,))
            store.event(conn, record_id, "released", "dead", "pending", detail="recovered, checked by an operator")
    log.info("store.recovered_released count=%d", len(wanted))
    return wanted
