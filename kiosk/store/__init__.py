"""The station's records: SQLite (WAL, synchronous=FULL) plus one photo file per record.

A record is durable before anyone is told it exists: its photo is written with
``kiosk.durable.write_file`` (temp file, fsync, rename, directory fsync) and
only then is its row committed, in one short transaction. The UI and the sync
daemon are separate processes sharing this database, so every write takes the
write lock up front (``BEGIN IMMEDIATE``) and waits for it (busy timeout)
instead of failing; leasing a record to a sync worker is one such transaction,
so two workers never get the same record.

Sync state: ``pending -> sending (lease) -> sent | retry (next_at) | dead``.
Every change of state is also appended to the ``events`` table for audit.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from kiosk import durable
from kiosk.store import migrations
from kiosk.store.admission import RecordRefused, admissible_measurements, check_record
from kiosk.store.damage import MARKER, Damage, diagnose, write_marker
from kiosk.store.errors import (
    AlreadyBound,
    DatabaseDamaged,
    DiskFull,
    StoreError,
    UnknownRecord,
    UnknownTicket,
    typed,
)
from kiosk.store.errors import db_error as _db_error
from kiosk.store.errors import os_error as _os_error
from kiosk.store.outbox import FINAL_REVIEW, Outbox
from kiosk.store.quarantine import CHECK_MODES, StartupReport, check_at_open
from kiosk.store.record import (
    NewRecord,
    Record,
    capture_row,
    card_path,
    format_time,
    read_boot_id,
    record_from_row,
    sha256_hex,
)
from kiosk.store.retakes import RetakeBook
from kiosk.store.retention import PurgeReport, purge_records
from kiosk.store.staff import HELP_REASONS, HelpRequest, StaffDesk

__all__ = [
    "FINAL_REVIEW", "HELP_REASONS", "AlreadyBound", "DatabaseDamaged", "DiskFull", "HelpRequest", "NewRecord",
    "PurgeReport", "Record", "RecordRefused", "StartupReport", "Store", "StoreError", "UnknownRecord", "UnknownTicket",
    "read_boot_id",
]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]



def _utcnow() -> datetime:
    return datetime.now(UTC)


class Store(Outbox, StaffDesk, RetakeBook):
    """The station's records: one instance per process, used by one thread at a time.

    The sync side (queue, review status, bindings) is inherited from ``Outbox``,
    the staff side (help requests, notice phones, the station log) from ``StaffDesk``,
    the retake counts that outlive a restart from ``RetakeBook``.
    """

    DB_NAME = "kiosk.db"
    PHOTOS = "photos"
    QUARANTINE = "quarantine"

    def __init__(self, data_dir: Path, conn: sqlite3.Connection, clock: Clock, boot_id: str) -> None:
        self.data_dir = data_dir
        self.photos_dir = data_dir / self.PHOTOS
        self.quarantine_dir = data_dir / self.QUARANTINE
        self._conn = conn
        self._clock = clock
        self.boot_id = boot_id
        self.startup = StartupReport()

    # -- opening ------------------------------------------------------------

    @classmethod
    def open(cls, data_dir: Path | str, *, clock: Clock | None = None, check_photos: str = "unsent",
             busy_timeout_s: float = 10.0, fresh_after_damage: bool = False) -> Store:
        """Open (creating or migrating) the store in ``data_dir`` and check it.

        Expired leases go back to pending; orphan photos, and records whose
        photo is missing or fails its sha256, are moved aside into
        ``quarantine/`` and listed in ``store.startup`` (a ``StartupReport``).
        ``check_photos`` is "unsent" (hash the photos still to be sent),
        "all", or "none".

        A database that is missing, empty, cut short or not a database in a
        folder that held data raises ``DatabaseDamaged`` and is left as it is
        (see ``kiosk.store.damage``). Only the recovery passes
        ``fresh_after_damage`` to start a new database beside the photos.
        """
        if check_photos not in CHECK_MODES:
            raise ValueError(f"check_photos must be one of {CHECK_MODES}")
        data_dir = Path(data_dir)
        damage = None if fresh_after_damage else diagnose(data_dir)
        if damage is not None:
            log.error("store.damaged kind=%s detail=%s evidence=%s", damage.kind, damage.detail,
                      ",".join(damage.evidence))
            raise damage.error(data_dir / cls.DB_NAME)
        # read before connecting: a marker written by a process that created the database meanwhile is no evidence
        had_marker = (data_dir / MARKER).exists()
        try:
            for d in (data_dir, data_dir / cls.PHOTOS, data_dir / cls.QUARANTINE):
                d.mkdir(mode=0o700, parents=True, exist_ok=True)
            # students' data: the database (and the -wal/-shm files SQLite derives from it) is private
            os.close(os.open(data_dir / cls.DB_NAME, os.O_WRONLY | os.O_CREAT, 0o600))
            conn = sqlite3.connect(data_dir / cls.DB_NAME, timeout=busy_timeout_s, isolation_level=None,
                                   check_same_thread=False)
        except OSError as exc:
            raise _os_error(exc, "open") from exc
        except sqlite3.Error as exc:
            raise _db_error(exc, "open") from exc
        conn.row_factory = sqlite3.Row
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            start, end = migrations.migrate(conn)
            if start == 0 and had_marker and not fresh_after_damage:
                raise Damage("blank", "schema version 0", (MARKER,)).error(data_dir / cls.DB_NAME)
            if start == 0:
                # the schema into the database file itself, so that the file is never empty once the marker exists
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            write_marker(data_dir)
        except DatabaseDamaged:
            conn.close()
            raise
        except OSError as exc:
            conn.close()
            raise _os_error(exc, "marker") from exc
        except RuntimeError as exc:
            conn.close()
            raise StoreError("store.schema_newer", str(exc)) from None
        except sqlite3.Error as exc:
            conn.close()
            raise _db_error(exc, "migrate") from exc
        store = cls(data_dir, conn, clock or _utcnow, read_boot_id())
        if start != end:
            log.info("store.migrated from=%d to=%d", start, end)
        try:
            recovered = store.recover_leases(store._clock())
            store.startup = check_at_open(store, check_photos)
        except OSError as exc:
            store.close()
            raise _os_error(exc, "check") from exc
        except sqlite3.Error as exc:  # a damaged database file shows itself here
            store.close()
            raise _db_error(exc, "check") from exc
        except BaseException:
            store.close()
            raise
        store.startup.schema_from, store.startup.schema_to = start, end
        store.startup.leases_recovered = recovered
        return store

    @property
    def conn(self) -> sqlite3.Connection:
        """The database connection (autocommit; writes go through ``write()``)."""
        return self._conn

    def check_integrity(self) -> list[str]:
        """SQLite's quick check of the database file: an empty list when it is sound (for the doctor)."""
        try:
            rows = [str(r[0]) for r in self._conn.execute("PRAGMA quick_check")]
        except sqlite3.DatabaseError as exc:
            return [str(exc)]
        return [] if rows == ["ok"] else rows

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing shared with retention and quarantine ----------------------

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction holding the write lock from its start."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _db_error(exc, "begin") from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error as rollback:  # the first error is the one to report
                    log.error("store.rollback_failed error=%s", rollback)
            if isinstance(exc, sqlite3.Error):
                raise _db_error(exc, "write") from exc
            raise

    def event(self, conn: sqlite3.Connection, record_id: str, kind: str, from_state: str | None,
              to_state: str | None, *, detail: str = "") -> None:
        """Append an audit event (inside the caller's transaction); no personal data in ``detail``."""
        conn.execute("INSERT INTO events (record_id, at, kind, from_state, to_state, detail) VALUES (?,?,?,?,?,?)",
                      (record_id, format_time(self._clock()), kind, from_state, to_state, detail or None))

    def now(self) -> datetime:
        """The store's clock (injectable for tests)."""
        return self._clock()

    def _row(self, record_id: str) -> sqlite3.Row:
        row = self._conn.execute("SELECT * FROM records WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            raise UnknownRecord(detail=f"id={record_id}")
        return row

    def _record(self, row: sqlite3.Row) -> Record:
        return record_from_row(row, self.data_dir)

    # -- capture ------------------------------------------------------------

    def add_record(self, new: NewRecord, photo_jpeg: bytes, original_jpeg: bytes | None = None) -> Record:
        """Store a captured record: photo files durable first, then the row.

        The record is first checked as the server will check its upload
        (``RecordRefused``: nothing is stored). Raises ``DiskFull`` or
        ``StoreError`` and leaves neither row nor file behind when any step fails.
        """
        # a database file emptied or cut short under a running station (SQLite would carry on in its WAL)
        damage = diagnose(self.data_dir)
        if damage is not None:
            log.error("store.damaged kind=%s detail=%s", damage.kind, damage.detail)
            raise damage.error(self.data_dir / self.DB_NAME)
        record_id = str(uuid.uuid4())
        captured = self._clock()
        mono = time.monotonic_ns()
        photo_rel = f"{self.PHOTOS}/{record_id}.jpg"
        original_rel = f"{self.PHOTOS}/{record_id}.original.jpg" if original_jpeg is not None else None
        record = Record(record_id, new.batch, new.station_id, new.code_payload, new.code_fields, new.student_uid,
                        new.id_last4, new.codeless, new.ticket, new.phone, new.name, captured, mono, self.boot_id,
                        self.data_dir / photo_rel, sha256_hex(photo_jpeg), len(photo_jpeg),
                        self.data_dir / original_rel if original_rel else None,
                        sha256_hex(original_jpeg) if original_jpeg is not None else None,
                        status_secret=new.status_secret, headwear_allowed=new.headwear_allowed,
                        measurements=admissible_measurements(new.measurements))
        check_record(record.metadata(), photo_jpeg, original_jpeg)
        row = capture_row(record, self.data_dir)
        card_rel = card_path(photo_rel)
        written: list[Path] = []
        try:
            durable.write_file(self.data_dir / photo_rel, photo_jpeg, sync_dir=False)
            written.append(self.data_dir / photo_rel)
            if original_rel is not None and original_jpeg is not None:
                durable.write_file(self.data_dir / original_rel, original_jpeg, sync_dir=False)
                written.append(self.data_dir / original_rel)
            # the record card: what rebuilds this record if the database is ever lost (kiosk records recover)
            durable.write_file(self.data_dir / card_rel, json.dumps(row, ensure_ascii=False).encode(), sync_dir=False)
            written.append(self.data_dir / card_rel)
            durable.fsync_dir(self.photos_dir)
            with self.write() as conn:
                columns = ", ".join(row)
                conn.execute(f"INSERT INTO records ({columns}, sync_state, due_at) "
                             f"VALUES ({', '.join('?' * len(row))}, 'pending', 0)", tuple(row.values()))
                self.event(conn, record_id, "captured", None, "pending",
                           detail="codeless" if new.codeless else "code")
        except OSError as exc:
            self._discard(written, record_id)
            raise _os_error(exc, "capture") from exc
        except UnicodeEncodeError as exc:  # a field that is not text (bytes off a command line)
            self._discard(written, record_id)
            raise StoreError("store.failed", f"capture: text that is not UTF-8 at {exc.start}") from None
        except BaseException:
            self._discard(written, record_id)
            raise
        log.info("record.captured id=%s bytes=%d", record_id, len(photo_jpeg))
        try:
            return self._record(self._row(record_id))
        except sqlite3.Error as exc:
            # the record is saved: saying otherwise would have the student sit again (a duplicate)
            log.warning("record.reread_failed id=%s error=%s", record_id, exc)
            return record

    def _discard(self, files: list[Path], record_id: str) -> None:
        """Remove the files of a capture whose row was never committed."""
        for path in files:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                log.error("record.discard_failed id=%s errno=%s", record_id, exc.errno)
        with contextlib.suppress(OSError):
            durable.fsync_dir(self.photos_dir)
        log.warning("record.capture_failed id=%s", record_id)

    # -- lookups ------------------------------------------------------------

    @typed
    def get(self, record_id: str) -> Record | None:
        """The record with ``record_id``, or None."""
        row = self._conn.execute("SELECT * FROM records WHERE id = ?", (record_id,)).fetchone()
        return self._record(row) if row else None

    @typed
    def find_by_student(self, student_uid: str) -> list[Record]:
        """This student's records, newest first (a retake makes a second one)."""
        rows = self._conn.execute("SELECT * FROM records WHERE student_uid = ? ORDER BY seq DESC", (student_uid,))
        return [self._record(r) for r in rows]

    @typed
    def find_by_ticket(self, ticket: str) -> Record | None:
        """The codeless record claimed with ``ticket`` now (normalised by the caller).

        That is its ``claim_ticket``: the server's when it replaced the record's
        own after a clash, else the one made here. A ticket the server replaced
        finds nothing (see ``replaced_ticket``): on the server it belongs to
        another station's record, so it must not bind this one.
        """
        row = self._conn.execute("SELECT * FROM records WHERE server_ticket = ? UNION ALL "
                                 "SELECT * FROM records WHERE ticket = ? AND server_ticket IS NULL LIMIT 1",
                                 (ticket, ticket)).fetchone()
        return self._record(row) if row else None

    @typed
    def replaced_ticket(self, ticket: str) -> Record | None:
        """The record captured with ``ticket`` whose ticket the server replaced (another station's held it)."""
        row = self._conn.execute("SELECT * FROM records WHERE ticket = ? AND server_ticket IS NOT NULL",
                                 (ticket,)).fetchone()
        return self._record(row) if row else None

    @typed
    def ticket_in_use(self, ticket: str) -> bool:
        """Whether any record here holds ``ticket``, as made here or as given by the server."""
        return self._conn.execute("SELECT 1 FROM records WHERE ticket = ? OR server_ticket = ? LIMIT 1",
                                  (ticket, ticket)).fetchone() is not None

    @typed
    def records(self, limit: int | None = 100, state: str | None = None) -> list[Record]:
        """Records newest first, optionally only those in sync ``state``."""
        sql, params = "SELECT * FROM records", list[Any]()
        if state is not None:
            sql += " WHERE sync_state = ?"
            params.append(state)
        sql += " ORDER BY seq DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [self._record(r) for r in self._conn.execute(sql, params)]

    @typed
    def events(self, record_id: str) -> list[dict[str, Any]]:
        """The audit trail of one record, oldest first."""
        rows = self._conn.execute("SELECT at, kind, from_state, to_state, detail FROM events WHERE record_id = ? "
                                  "ORDER BY id", (record_id,))
        return [dict(r) for r in rows]

    @typed
    def stats(self, day: date) -> dict[str, int]:
        """Counts for the operator screen: records captured on ``day`` (local) and the queue now."""
        row = self._conn.execute(
            """SELECT count(*) AS captured, coalesce(sum(codeless), 0) AS codeless,
                      coalesce(sum(sync_state = 'sent'), 0) AS sent,
                      coalesce(sum(review_status = 'approved' OR review_status = 'confirmed'), 0) AS approved,
                      coalesce(sum(review_status = 'rejected'), 0) AS rejected
               FROM records WHERE captured_day = ?""", (day.isoformat(),)).fetchone()
        out = {k: int(row[k]) for k in row.keys()}  # noqa: SIM118 - sqlite3.Row is not a mapping
        for state in ("pending", "sending", "retry", "dead"):
            out[state] = int(self._conn.execute("SELECT count(*) FROM records WHERE sync_state = ?",
                                                (state,)).fetchone()[0])
        out["queued"] = out["pending"] + out["sending"] + out["retry"]
        out["bindings_pending"] = int(self._conn.execute(
            "SELECT count(*) FROM records WHERE binding_state = 'pending'").fetchone()[0])
        return out

    # -- codes --------------------------------------------------------------

    def bind_code(self, ticket: str, code_payload: str, code_fields: dict[str, Any] | None,
                  student_uid: str | None, id_last4: str | None) -> Record:
        """Attach a collection code to the codeless record claimed with ``ticket`` (see ``find_by_ticket``).

        A record that has never been offered to the server simply uploads with
        its code. One that is (or may be) there already, because an attempt
        was made, keeps its upload as captured and gets a pending binding that
        the sync client pushes. Binding the same code again is a no-op.
        """
        with self.write() as conn:
            row = conn.execute("SELECT id, sync_state, attempts, code_payload FROM records WHERE server_ticket = ? "
                               "UNION ALL SELECT id, sync_state, attempts, code_payload FROM records "
                               "WHERE ticket = ? AND server_ticket IS NULL LIMIT 1", (ticket, ticket)).fetchone()
            if row is None:
                raise UnknownTicket(detail="ticket not found")
            record_id = row["id"]
            if row["code_payload"] is not None:
                if row["code_payload"] != code_payload:
                    raise AlreadyBound(detail=f"id={record_id}")
                return self._record(self._row(record_id))
            # a lease that ran out (a sender killed after the server's commit) counts no attempt: ask the events
            leased = conn.execute("SELECT 1 FROM events WHERE record_id = ? AND kind = 'leased' LIMIT 1",
                                  (record_id,)).fetchone() is not None
            maybe_on_server = row["sync_state"] in ("sending", "sent") or row["attempts"] > 0 or leased
            conn.execute("UPDATE records SET code_payload = ?, code_fields = ?, student_uid = ?, "
                         "id_last4 = CASE WHEN ? THEN id_last4 ELSE coalesce(?, id_last4) END, bind_last4 = ?, "
                         "binding_state = ?, binding_error = NULL WHERE id = ?",
                         (code_payload, json.dumps(code_fields, ensure_ascii=False) if code_fields else None,
                          student_uid, maybe_on_server, id_last4, id_last4,
                          "pending" if maybe_on_server else None, record_id))
            self.event(conn, record_id, "bound", row["sync_state"], row["sync_state"],
                       detail="push" if maybe_on_server else "local")
        log.info("record.bound id=%s push=%s", record_id, maybe_on_server)
        return self._record(self._row(record_id))

    # -- retention ----------------------------------------------------------

    @typed
    def purge(self, now: datetime, photo_days_after_ack: int, record_days: int, dry_run: bool = False) -> PurgeReport:
        """Delete what retention allows (see ``kiosk.store.retention``); never an unsent record."""
        return purge_records(self, now, photo_days_after_ack, record_days, dry_run)
