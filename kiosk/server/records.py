"""Uploaded records: idempotent acceptance, review status, queue positions, the review queue.

Accepting a record is idempotent on its id. The photo files are written first
(content-addressed, so a replay rewrites nothing), then the row is inserted; the
primary key on ``record_id`` decides between a first upload and a replay, never
a look-up before the insert. A replay with the same content gets the record's
acknowledgement again; the same id with other content is refused (422). While an
upload of an id is being processed, another upload of the same id is refused
with 409 so that the station retries it later instead of racing itself.

A record's place in the review queue is its rank among queued records by the
order in which they were queued (``queue_seq``), counted on demand so that it is
always current.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kiosk.server.db import Database
from kiosk.server.photos import PhotoStore
from kiosk.server.problems import Problem
from kiosk.server.schema import RecordAck, RecordMetadata, RecordStatus, ReviewItem, ReviewQueue, ReviewResult
from kiosk.server.upload_checks import check_jpeg

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Upload:
    """One record as received: its metadata and its files."""

    metadata: RecordMetadata
    photo: bytes
    original: bytes | None = None


def queue_position(conn: sqlite3.Connection, record_id: str) -> int | None:
    """The 1-based place of ``record_id`` in the review queue, or None when it is not queued."""
    row = conn.execute("SELECT status, queue_seq FROM records WHERE record_id=?", (record_id,)).fetchone()
    if row is None or row["status"] != "queued":
        return None
    return int(conn.execute("SELECT COUNT(*) FROM records WHERE status='queued' AND queue_seq<=?",
                            (row["queue_seq"],)).fetchone()[0])


def next_queue_seq(conn: sqlite3.Connection) -> int:
    """The queue number for a record entering the review queue now (inside a write transaction)."""
    return int(conn.execute("SELECT COALESCE(MAX(queue_seq), 0) + 1 FROM records").fetchone()[0])


class RecordBook:
    """The server's records."""

    def __init__(self, db: Database, photos: PhotoStore, max_photo_bytes: int,
                 on_received: Callable[[str], None] | None = None) -> None:
        self._db = db
        self._photos = photos
        self._max = max_photo_bytes
        #: called with the record id while its upload is in flight (tests hold an upload open with it)
        self._on_received = on_received
        self._in_flight: set[str] = set()
        self._in_flight_lock = threading.Lock()

    @contextmanager
    def _claim(self, record_id: str) -> Iterator[None]:
        with self._in_flight_lock:
            if record_id in self._in_flight:
                log.info("record.in_flight id=%s", record_id)
                raise Problem(409, "in-flight", "this record is being received; retry later",
                              headers={"Retry-After": "1"})
            self._in_flight.add(record_id)
        try:
            yield
        finally:
            with self._in_flight_lock:
                self._in_flight.discard(record_id)

    def accept(self, upload: Upload, uploaded_by: str, now: datetime) -> tuple[RecordAck, bool]:
        """Store ``upload``; its acknowledgement and whether it was new (False: identical replay)."""
        meta = upload.metadata
        record_id = str(meta.record_id)
        check_jpeg(upload.photo, "photo", self._max)
        photo_sha = hashlib.sha256(upload.photo).hexdigest()
        if photo_sha != meta.photo_sha256:
            raise Problem(422, "hash-mismatch", "the photo's sha256 is not metadata.photo_sha256")
        if len(upload.photo) != meta.photo_bytes:
            raise Problem(422, "size-mismatch", "the photo's size is not metadata.photo_bytes")
        original_sha = None
        if upload.original is not None:
            check_jpeg(upload.original, "original", self._max)
            original_sha = hashlib.sha256(upload.original).hexdigest()
            if meta.original_sha256 is not None and original_sha != meta.original_sha256:
                raise Problem(422, "hash-mismatch", "the original's sha256 is not metadata.original_sha256")
        elif meta.original_sha256 is not None:
            raise Problem(422, "original-missing", "metadata.original_sha256 is set but no original was sent")
        canonical = meta.canonical()
        fingerprint = hashlib.sha256(f"{canonical}|{photo_sha}|{original_sha or ''}".encode()).hexdigest()
        with self._claim(record_id):
            if self._on_received is not None:
                self._on_received(record_id)
            self._photos.put(upload.photo)
            if upload.original is not None:
                self._photos.put(upload.original)
            created = self._insert(meta, canonical, fingerprint, original_sha=original_sha,
                                   uploaded_by=uploaded_by, now=now)
            with self._db.read() as conn:
                row = conn.execute("SELECT fingerprint, status FROM records WHERE record_id=?",
                                   (record_id,)).fetchone()
                if row["fingerprint"] != fingerprint:
                    log.warning("record.conflict id=%s", record_id)
                    raise Problem(422, "record-conflict",
                                  "a record with this id and other content was already received")
                ack = RecordAck(record_id=record_id, photo_sha256=photo_sha, status=row["status"],
                                queue_position=queue_position(conn, record_id))
        log.info("record.%s id=%s status=%s", "received" if created else "replayed", record_id, ack.status)
        return ack, created

    def _insert(self, meta: RecordMetadata, canonical: str, fingerprint: str, *, original_sha: str | None,
                uploaded_by: str, now: datetime) -> bool:
        """Insert the row; False when a row with this id is already there."""
        captured = meta.captured_at.astimezone(UTC)
        # A codeless record bound at the station before its first upload arrives with its code.
        awaiting = meta.codeless and not meta.code_payload
        status = "awaiting_code" if awaiting else "queued"
        ticket = normalise_stored_ticket(meta.ticket) if meta.codeless and meta.ticket else None
        try:
            with self._db.write() as conn:
                conn.execute(
                    "INSERT INTO records (record_id, fingerprint, metadata, batch, station_id, uploaded_by, "
                    "captured_at, captured_ts, received_at, photo_sha256, photo_bytes, original_sha256, codeless, "
                    "ticket, code_payload, code_json, student_uid, id_last4, status, queue_seq) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (str(meta.record_id), fingerprint, canonical, meta.batch, meta.station_id, uploaded_by,
                     captured.isoformat(), captured.timestamp(), now.isoformat(), meta.photo_sha256,
                     meta.photo_bytes, original_sha, int(meta.codeless), ticket, meta.code_payload,
                     json.dumps(meta.code, ensure_ascii=False) if meta.code is not None else None,
                     _student_uid(meta.code), meta.id_last4, status,
                     None if awaiting else next_queue_seq(conn)),
                )
        except sqlite3.IntegrityError:
            with self._db.read() as conn:
                if conn.execute("SELECT 1 FROM records WHERE record_id=?", (str(meta.record_id),)).fetchone():
                    return False
            log.warning("record.ticket_taken id=%s", meta.record_id)
            raise Problem(422, "ticket-taken", "another record already holds this claim ticket") from None
        return True

    def statuses(self, ids: list[str]) -> list[RecordStatus]:
        """The review status of each id, in the order given ("unknown" for ids never received)."""
        out: list[RecordStatus] = []
        with self._db.read() as conn:
            for record_id in ids:
                row = conn.execute("SELECT status, reason FROM records WHERE record_id=?", (record_id,)).fetchone()
                if row is None:
                    out.append(RecordStatus(record_id=record_id, status="unknown"))
                    continue
                out.append(RecordStatus(record_id=record_id, status=row["status"], reason=row["reason"],
                                        queue_position=queue_position(conn, record_id)))
        return out

    def queue(self, limit: int, offset: int = 0, batch: str | None = None) -> ReviewQueue:
        """Records waiting for review, first in line first; only ``batch``'s when given.

        ``queue_position`` is always the place in the whole queue, the number the
        student sees, also when the listing is narrowed to one batch.
        """
        where, args = ("AND batch=?", (batch,)) if batch else ("", ())
        with self._db.read() as conn:
            total = int(conn.execute(f"SELECT COUNT(*) FROM records WHERE status='queued' {where}",
                                     args).fetchone()[0])
            rows = conn.execute(
                "SELECT record_id, batch, station_id, captured_at, photo_sha256 FROM records "
                f"WHERE status='queued' {where} ORDER BY queue_seq LIMIT ? OFFSET ?",
                (*args, limit, offset)).fetchall()
            items = [ReviewItem(record_id=r["record_id"], batch=r["batch"], station_id=r["station_id"],
                                captured_at=r["captured_at"], photo_sha256=r["photo_sha256"],
                                queue_position=(offset + i + 1) if not batch else
                                (queue_position(conn, r["record_id"]) or 0))
                     for i, r in enumerate(rows)]
        return ReviewQueue(records=items, total=total)

    def review(self, record_id: str, action: str, reason: str | None, now: datetime) -> ReviewResult:
        """Apply a reviewer's ``action``: approve or reject a queued record, confirm an approved one.

        Repeating the action that gave a record its status is a no-op; anything else
        out of order is refused with 409.
        """
        target = {"approve": "approved", "reject": "rejected", "confirm": "confirmed"}[action]
        allowed_from = {"approve": ("queued",), "reject": ("queued", "approved"), "confirm": ("approved",)}[action]
        with self._db.write() as conn:
            row = conn.execute("SELECT status, reason FROM records WHERE record_id=?", (record_id,)).fetchone()
            if row is None:
                raise Problem(404, "unknown-record", "no record with this id")
            if row["status"] == target:
                return ReviewResult(record_id=record_id, status=row["status"], reason=row["reason"])
            if row["status"] not in allowed_from:
                raise Problem(409, "review-conflict", f"cannot {action} a record that is {row['status']}")
            kept_reason = reason.strip() if target == "rejected" and reason else None
            conn.execute("UPDATE records SET status=?, reason=?, reviewed_at=? WHERE record_id=?",
                         (target, kept_reason, now.isoformat(), record_id))
        log.info("record.reviewed id=%s status=%s", record_id, target)
        return ReviewResult.model_validate({"record_id": record_id, "status": target, "reason": kept_reason})

    def photo_sha256(self, record_id: str) -> str | None:
        """The photo hash of ``record_id``, or None."""
        with self._db.read() as conn:
            row = conn.execute("SELECT photo_sha256 FROM records WHERE record_id=?", (record_id,)).fetchone()
        return None if row is None else str(row["photo_sha256"])


def normalise_stored_ticket(text: str) -> str:
    """A ticket as stored and looked up: upper case, without separators.

    Lenient on purpose: the station made the ticket, and a record must never be
    refused for its ticket's spelling; the strict check (with its check
    character) is applied to what a person types when binding.
    """
    return "".join(ch for ch in text.upper() if ch.isalnum())


def _student_uid(code: dict[str, Any] | None) -> str | None:
    value = (code or {}).get("student_uid")
    return str(value) if value else None
