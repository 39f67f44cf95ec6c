"""Uploaded records: idempotent acceptance, review status, queue positions, the review queue.

Accepting a record is idempotent on its id. The photo files are written first
(content-addressed, so a replay rewrites nothing; with the database blob store the
photos go into the record's own transaction instead), then, in one transaction, the
row is inserted with ``ON CONFLICT DO NOTHING ... RETURNING`` (what the
acknowledgement needs) and, when nothing was inserted, read back: the primary key
decides between a first upload and a replay, never a look-up before the insert,
so concurrent replays of one id (in one process or several) get one row and every
caller the same acknowledgement. A replay with the same content gets the record's
acknowledgement again; the same id with other content is refused (422).

One student has one photo in review per batch (a partial unique index on
``(batch, student_uid)`` over queued, approved and confirmed records): a second
record of the same student is kept with the status ``duplicate`` and its
acknowledgement says so; it is never refused, so the station never dead-letters it.

A record's place in the review queue is its rank among queued records by the
order in which they were queued (``queue_seq``, handed out by an identity
column), counted on demand so that it is always current; the places of many
records cost one range scan of the queue index.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from kiosk.server.audit import AuditEntry, of_record, write_entry
from kiosk.server.blobs import BlobStore
from kiosk.server.db import Database
from kiosk.server.outbox import Outbox
from kiosk.server.record_insert import queued_insert
from kiosk.server.refusals import Refused
from kiosk.server.schema import RecordAck, RecordMetadata, RecordStatus, ReviewItem, ReviewQueue, ReviewResult
from kiosk.server.status import stored_statuses
from kiosk.server.tables import DUPLICATE, queue_numbers, records
from kiosk.server.upload_checks import check_jpeg
from kiosk.tickets import new_ticket

log = logging.getLogger(__name__)

#: what an upload reads back of its stored record (from the insert, or of the record already there)
_STORED = (records.c.fingerprint, records.c.status, records.c.ticket, records.c.queue_seq)
#: the columns an upload gives a new record (its queue number aside)
_COLUMNS = ("record_id", "fingerprint", "metadata", "batch", "station_id", "uploaded_by", "captured_at",
            "captured_ts", "received_at", "photo_sha256", "photo_bytes", "original_sha256", "codeless", "ticket",
            "code_payload", "code_json", "student_uid", "id_last4", "status", "status_secret_sha256")
#: a new queue number (statements built once: SQLAlchemy then reuses their compiled form)
_TAKE_NUMBER = insert(queue_numbers).returning(queue_numbers.c.seq)
#: fresh tickets tried for a record whose own ticket another record holds
TICKET_TRIES = 5


@dataclass(frozen=True)
class Upload:
    """One record as received: its metadata and its files."""

    metadata: RecordMetadata
    photo: bytes
    original: bytes | None = None


def queue_positions(conn: Connection, record_ids: Iterable[str]) -> dict[str, int]:
    """The 1-based places in the review queue of those of ``record_ids`` that are queued.

    One pass over the queue index up to the last of them, however many ids are asked for.
    """
    ids = list(dict.fromkeys(record_ids))
    if not ids:
        return {}
    rows = conn.execute(select(records.c.record_id, records.c.queue_seq)
                        .where(records.c.record_id.in_(ids), records.c.status == "queued"))
    return places(conn, {str(r.record_id): int(r.queue_seq) for r in rows if r.queue_seq is not None})


def places(conn: Connection, seqs: dict[str, int]) -> dict[str, int]:
    """The 1-based queue places of queued records given by id and queue number (``queue_seq``).

    The queue index ``(status, queue_seq)`` alone answers (an index-only scan up to the
    largest number asked for): the cost grows with the queue's length, not the table's.
    """
    if not seqs:
        return {}
    if len(seqs) == 1:
        (record_id, seq), = seqs.items()
        return {record_id: queue_place(conn, seq)}
    ranked = (select(records.c.queue_seq, func.row_number().over(order_by=records.c.queue_seq).label("pos"))
              .where(records.c.status == "queued", records.c.queue_seq <= max(seqs.values())).subquery())
    by_seq = {int(r.queue_seq): int(r.pos) for r in conn.execute(
        select(ranked.c.queue_seq, ranked.c.pos).where(ranked.c.queue_seq.in_(list(seqs.values()))))}
    return {record_id: by_seq[seq] for record_id, seq in seqs.items() if seq in by_seq}


def queue_place(conn: Connection, seq: int) -> int:
    """The 1-based place of the queued record whose queue number is ``seq`` (one count on the queue index)."""
    return int(conn.execute(select(func.count()).select_from(records)
                            .where(records.c.status == "queued", records.c.queue_seq <= seq)).scalar_one())


def queue_position(conn: Connection, record_id: str) -> int | None:
    """The 1-based place of ``record_id`` in the review queue, or None when it is not queued."""
    return queue_positions(conn, [record_id]).get(record_id)


def next_queue_seq(conn: Connection) -> int:
    """A new queue number, later than every one handed out before (inside a write transaction).

    It comes from an identity column, so two transactions, in one process or two,
    never get the same number.
    """
    return int(conn.execute(_TAKE_NUMBER, {"taken_at": datetime.now(UTC).isoformat()}).scalar_one())


def secret_sha256(secret: str) -> str:
    """How a status secret is stored and looked up: the hex sha256 of its text."""
    return hashlib.sha256(secret.encode()).hexdigest()


class RecordBook:
    """The server's records."""

    def __init__(self, db: Database, photos: BlobStore, max_photo_bytes: int,
                 on_received: Callable[[str], None] | None = None) -> None:
        self._db = db
        self._photos = photos
        self._max = max_photo_bytes
        #: called with the record id while its upload is in flight (tests hold an upload open with it)
        self._on_received = on_received
        #: a new record's insert, which any clash turns into nothing (executed with its values)
        self._insert_new = db.insert_ignoring(records, None).returning(*_STORED)
        #: on PostgreSQL, a queued record's queue number, insert and queue place in one statement
        self._queued_insert = queued_insert(list(_COLUMNS), _STORED) if db.dialect == "postgresql" else None
        #: where review results for students are queued (None: no notification channel)
        self.outbox: Outbox | None = None

    def accept(self, upload: Upload, uploaded_by: str, now: datetime, *,
               station_id: str | None = None) -> tuple[RecordAck, bool]:
        """Store ``upload``; its acknowledgement and whether it was new (False: identical replay).

        ``station_id`` is the uploading station as its token names it; the
        metadata's own ``station_id`` is used only when None (an admin's upload).
        """
        meta = upload.metadata
        record_id = str(meta.record_id)
        check_jpeg(upload.photo, "photo", self._max)
        photo_sha = hashlib.sha256(upload.photo).hexdigest()
        if photo_sha != meta.photo_sha256:
            raise Refused("hash-mismatch", "the photo's sha256 is not metadata.photo_sha256")
        if len(upload.photo) != meta.photo_bytes:
            raise Refused("size-mismatch", "the photo's size is not metadata.photo_bytes")
        original_sha = None
        if upload.original is not None:
            check_jpeg(upload.original, "original", self._max)
            original_sha = hashlib.sha256(upload.original).hexdigest()
            if meta.original_sha256 is not None and original_sha != meta.original_sha256:
                raise Refused("hash-mismatch", "the original's sha256 is not metadata.original_sha256")
        elif meta.original_sha256 is not None:
            raise Refused("original-missing", "metadata.original_sha256 is set but no original was sent")
        if station_id is not None and station_id != meta.station_id:
            log.warning("record.station_mismatch id=%s token=%s claimed=%s", record_id, station_id, meta.station_id)
        # The status link's secret is kept only as its hash: not in the stored metadata text, and
        # folded into the fingerprint as that hash (so a replay with another secret is a conflict).
        secret_sha = secret_sha256(meta.status_secret) if meta.status_secret else None
        canonical = meta.model_copy(update={"status_secret": None}).canonical()
        fingerprint = hashlib.sha256(f"{canonical}|{photo_sha}|{original_sha or ''}"
                                     f"{'|' + secret_sha if secret_sha else ''}".encode()).hexdigest()
        if self._on_received is not None:
            self._on_received(record_id)
        joined = self._photos.joins_transaction
        if not joined:  # the files first: a record is never committed without its photos
            self._photos.put(upload.photo)
            if upload.original is not None:
                self._photos.put(upload.original)
        values = self._values(meta, canonical, fingerprint, original_sha=original_sha, uploaded_by=uploaded_by,
                              station_id=station_id or meta.station_id, now=now, secret_sha=secret_sha)
        if self._queued_insert is not None and not joined and values["status"] == "queued":
            # the usual case in one statement that commits by itself (kiosk/server/record_insert.py)
            with self._db.single() as conn:
                new = conn.execute(self._queued_insert,
                                   {**values, "taken_at": datetime.now(UTC).isoformat()}).first()
            if new is not None:
                return self._ack(record_id, photo_sha, new.status, new.place, new.ticket, created=True), True
        with self._db.write() as conn:
            if joined:
                self._photos.put(upload.photo, conn)
                if upload.original is not None:
                    self._photos.put(upload.original, conn)
            inserted = self._insert(conn, values)
            created = inserted is not None
            row = inserted if inserted is not None else conn.execute(
                select(*_STORED).where(records.c.record_id == record_id)).one()
            if row.fingerprint != fingerprint:
                log.warning("record.conflict id=%s", record_id)
                raise Refused("record-conflict", "a record with this id and other content was already received")
            queued = row.status == "queued" and row.queue_seq is not None
            place = queue_place(conn, row.queue_seq) if queued else None
        return self._ack(record_id, photo_sha, row.status, place, row.ticket, created=created), created

    @staticmethod
    def _ack(record_id: str, photo_sha: str, status: str, place: int | None, ticket: str | None, *,
             created: bool) -> RecordAck:
        """The acknowledgement of a record stored (``created``) or replayed, logged."""
        log.info("record.%s id=%s status=%s", "received" if created else "replayed", record_id, status)
        return RecordAck.model_validate({"record_id": record_id, "photo_sha256": photo_sha, "status": status,
                                         "queue_position": None if place is None else int(place), "ticket": ticket})

    @staticmethod
    def _values(meta: RecordMetadata, canonical: str, fingerprint: str, *, original_sha: str | None,
                uploaded_by: str, station_id: str, now: datetime, secret_sha: str | None) -> dict[str, Any]:
        """The new row's columns (without its queue number)."""
        record_id = str(meta.record_id)
        captured = meta.captured_at.astimezone(UTC)
        # A codeless record bound at the station before its first upload arrives with its code.
        awaiting = meta.codeless and not meta.code_payload
        ticket = normalise_stored_ticket(meta.ticket) if meta.codeless and meta.ticket else None
        values: dict[str, Any] = {
            "record_id": record_id, "fingerprint": fingerprint, "metadata": canonical, "batch": meta.batch,
            "station_id": station_id, "uploaded_by": uploaded_by, "captured_at": captured.isoformat(),
            "captured_ts": captured.timestamp(), "received_at": now.isoformat(),
            "photo_sha256": meta.photo_sha256, "photo_bytes": meta.photo_bytes, "original_sha256": original_sha,
            "codeless": int(meta.codeless), "ticket": ticket, "code_payload": meta.code_payload,
            "code_json": json.dumps(meta.code, ensure_ascii=False) if meta.code is not None else None,
            "student_uid": _student_uid(meta.code), "id_last4": meta.id_last4,
            "status": "awaiting_code" if awaiting else "queued", "status_secret_sha256": secret_sha,
        }
        return values

    def _insert(self, conn: Connection, values: dict[str, Any]) -> Row[Any] | None:
        """Insert the row of ``values`` in ``conn``'s transaction; its ``_STORED`` columns, or None when a
        row with its id is already there."""
        record_id, ticket, secret_sha = values["record_id"], values["ticket"], values["status_secret_sha256"]
        if values["status"] == "queued":
            values["queue_seq"] = next_queue_seq(conn)
        # The usual case in one statement: a new record that clashes with nothing. Any clash (the id,
        # a ticket, a student already in review, a status secret) inserts nothing, and is sorted out
        # below, the id's first.
        inserted = conn.execute(self._insert_new, values).first()
        if inserted is not None:
            return inserted
        if conn.execute(select(records.c.record_id).where(records.c.record_id == record_id)).first():
            return None
        stmt = self._db.insert_ignoring(records, ["record_id"]).returning(*_STORED)
        # Another constraint than the id's: a ticket held by another record, a status secret
        # another record holds, or a student who already has a record in review.
        if secret_sha is not None and conn.execute(
                select(records.c.record_id).where(records.c.status_secret_sha256 == secret_sha)).first():
            log.warning("record.secret_taken id=%s", record_id)
            raise Refused("secret-taken", "another record already holds this status secret")
        if ticket is not None and conn.execute(select(records.c.record_id).where(records.c.ticket == ticket)).first():
            # Another station made the same ticket (40 bits, made offline): the record is kept under a
            # fresh ticket of the server's, which the acknowledgement carries back; never dead-lettered.
            for _ in range(TICKET_TRIES):
                values["ticket"] = new_ticket()
                try:
                    with conn.begin_nested():
                        inserted = conn.execute(stmt.values(**values)).first()
                    log.warning("record.ticket_reassigned id=%s", record_id)
                    return inserted
                except IntegrityError:
                    if conn.execute(select(records.c.record_id).where(records.c.ticket == values["ticket"])).first():
                        continue
                    break  # not the ticket: the student already has a record in review
        log.info("record.duplicate_student id=%s", record_id)
        values.update(status=DUPLICATE, queue_seq=None)
        return conn.execute(stmt.values(**values)).first()

    def statuses(self, ids: list[str], *, station: str | None = None) -> list[RecordStatus]:
        """The review status of each id, in the order given ("unknown" for ids never received).

        With ``station``, another station's records are "unknown" too: a station
        only learns about the records it uploaded (kiosk/server/status.py).
        """
        found = stored_statuses(self._db, ids, station)
        out = []
        for record_id in ids:
            status, reason, place = found.get(record_id, ("unknown", None, None))
            out.append(RecordStatus.model_validate({"record_id": record_id, "status": status, "reason": reason,
                                                    "queue_position": place}))
        return out

    def queue(self, limit: int, offset: int = 0, batch: str | None = None) -> ReviewQueue:
        """Records waiting for review, first in line first; only ``batch``'s when given.

        ``queue_position`` is always the place in the whole queue, the number the
        student sees, also when the listing is narrowed to one batch.
        """
        where = [records.c.status == "queued"]
        if batch:
            where.append(records.c.batch == batch)
        with self._db.read() as conn:
            total = int(conn.execute(select(func.count()).select_from(records).where(*where)).scalar_one())
            rows = conn.execute(
                select(records.c.record_id, records.c.batch, records.c.station_id, records.c.captured_at,
                       records.c.photo_sha256).where(*where).order_by(records.c.queue_seq)
                .limit(limit).offset(offset)).all()
            positions = queue_positions(conn, [r.record_id for r in rows]) if batch else {}
        items = [ReviewItem(record_id=r.record_id, batch=r.batch, station_id=r.station_id,
                            captured_at=r.captured_at, photo_sha256=r.photo_sha256,
                            queue_position=(offset + i + 1) if not batch else positions.get(r.record_id, 0))
                 for i, r in enumerate(rows)]
        return ReviewQueue(records=items, total=total)

    def review(self, record_id: str, action: str, reason: str | None, now: datetime, *, reviewer: str = "admin",
               reason_code: str | None = None) -> ReviewResult:
        """Apply a reviewer's ``action``: approve or reject a queued record, confirm an approved one.

        Repeating the action that gave a record its status is a no-op; anything else
        out of order is refused with 409. The status changes in one conditional
        update, so two reviewers acting at once cannot both succeed from one state.
        A change is audited in the same transaction: ``reviewer``, the action,
        ``reason_code`` (a standard rejection reason) and the reason text. An approval or
        rejection also queues the student's notification, in the same transaction
        (``kiosk.server.outbox``), when they left a number and a channel is set.
        """
        target = {"approve": "approved", "reject": "rejected", "confirm": "confirmed"}[action]
        allowed_from = {"approve": ("queued",), "reject": ("queued", "approved"), "confirm": ("approved",)}[action]
        kept_reason = reason.strip() if target == "rejected" and reason else None
        values: dict[str, Any] = {"status": target, "reason": kept_reason}
        if target == "confirmed":
            values.update(confirmed_at=now.isoformat(), confirmed_by=reviewer)
        else:
            values.update(reviewed_at=now.isoformat(), reviewed_by=reviewer)
        with self._db.write() as conn:
            changed = conn.execute(
                update(records).where(records.c.record_id == record_id, records.c.status.in_(allowed_from))
                .values(**values).returning(records.c.record_id, records.c.batch)).first()
            if changed is None:
                row = conn.execute(select(records.c.status, records.c.reason)
                                   .where(records.c.record_id == record_id)).first()
                if row is None:
                    raise Refused("unknown-record", "no record with this id")
                if row.status == target:
                    return ReviewResult(record_id=record_id, status=row.status, reason=row.reason)
                raise Refused("review-conflict", f"cannot {action} a record that is {row.status}")
            write_entry(conn, AuditEntry(record_id, changed.batch, reviewer, action, reason_code, kept_reason,
                                         now.isoformat()), now)
            if self.outbox is not None and target in ("approved", "rejected"):
                self.outbox.enqueue(conn, record_id, target, kept_reason, now)
        log.info("record.reviewed id=%s status=%s", record_id, target)
        if self.outbox is not None:
            self.outbox.kick()
        return ReviewResult.model_validate({"record_id": record_id, "status": target, "reason": kept_reason})

    def audit(self, record_id: str) -> list[AuditEntry]:
        """The decisions on ``record_id``, oldest first."""
        with self._db.read() as conn:
            return of_record(conn, record_id)

    def photo_sha256(self, record_id: str) -> str | None:
        """The photo hash of ``record_id``, or None."""
        with self._db.read() as conn:
            sha = conn.execute(select(records.c.photo_sha256).where(records.c.record_id == record_id)).scalar()
        return None if sha is None else str(sha)


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
