"""The student's side of a record: found by the status secret or by the code, confirmed, disputed.

A student reaches a record with the secret of its status link (only its sha256
is stored) or with the pasted collection code plus the ID's last four. Wrong
last fours are counted per code in ``bind_attempts`` (subject ``status:<hash of
the code>``) and lock that code for ``lock_minutes`` after ``max_misses``, as
binds from a phone are. An approved photo is confirmed by the student, by staff,
or automatically once its batch has ended (``auto_confirm``, run with the
periodic maintenance); a dispute sends it back to the end of the review queue.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, case, delete, or_, select, update

from kiosk.codes import normalise_last_four
from kiosk.server.db import Database
from kiosk.server.records import next_queue_seq, queue_position, secret_sha256
from kiosk.server.refusals import Refused
from kiosk.server.student_view import batch_end
from kiosk.server.tables import batches, bind_attempts, records

log = logging.getLogger(__name__)

#: the columns a student's page reads
_COLUMNS = (records.c.record_id, records.c.batch, records.c.station_id, records.c.uploaded_by,
            records.c.captured_at, records.c.status, records.c.reason, records.c.photo_sha256,
            records.c.code_json, records.c.id_last4, records.c.student_uid, records.c.confirmed_at,
            records.c.confirmed_by, records.c.dispute_reason, records.c.contact_phone, records.c.contact_consent_at,
            records.c.ticket)
#: which of a student's records is "the" record: one in review first, then one waiting for its code,
#: then the latest rejected
_RANK = {"queued": 0, "approved": 0, "confirmed": 0, "awaiting_code": 1, "rejected": 2}


class StudentRefusal(Refused):
    """A student's action refused: its kind (a problem type), the page's strings key and its parameters."""

    def __init__(self, kind: str, key: str, **params: object) -> None:
        super().__init__(kind, key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class StudentRecord:
    """A record's stored fields as the student's page reads them, and its place in the queue."""

    row: dict[str, Any]
    queue_position: int | None


def _record(conn: Connection, row: Any) -> StudentRecord:
    data = dict(row._mapping)
    data["code"] = json.loads(data["code_json"]) if data.get("code_json") else {}
    if not data.get("contact_consent_at"):
        data["contact_phone"] = None  # a number without consent is never used
    return StudentRecord(row=data, queue_position=queue_position(conn, str(data["record_id"])))


class StudentBook:
    """Records as their students reach and act on them."""

    def __init__(self, db: Database, *, max_misses: int = 5, lock_minutes: float = 15.0) -> None:
        self._db = db
        self._max_misses = max_misses
        self._lock_minutes = lock_minutes

    def get(self, record_id: str) -> StudentRecord | None:
        """The record ``record_id``."""
        with self._db.read() as conn:
            row = conn.execute(select(*_COLUMNS).where(records.c.record_id == record_id)).first()
            return None if row is None else _record(conn, row)

    def by_secret(self, secret: str) -> StudentRecord | None:
        """The record whose status link carries ``secret``."""
        with self._db.read() as conn:
            row = conn.execute(select(*_COLUMNS)
                               .where(records.c.status_secret_sha256 == secret_sha256(secret))).first()
            return None if row is None else _record(conn, row)

    def by_code(self, payload: str, last4: str, now: datetime) -> StudentRecord | None:
        """The student's current record for a pasted code and typed last four; None when they do not match.

        ``StudentRefusal`` ("too-many-attempts") while the code is locked after too many wrong last fours.
        """
        payload = payload.strip()
        subject = "status:" + hashlib.sha256(payload.encode()).hexdigest()[:32]
        self._reserve(subject, now)
        typed = normalise_last_four(last4)[-4:]
        with self._db.read() as conn:
            rows = conn.execute(select(*_COLUMNS).where(records.c.code_payload == payload)).all()
            found = [r for r in rows if r.status in _RANK and r.id_last4
                     and normalise_last_four(str(r.id_last4))[-4:] == typed]
            if not found:
                log.info("student_page.code_miss")
                return None
            best = min(found, key=lambda r: (_RANK[r.status], -datetime.fromisoformat(r.captured_at).timestamp()))
            record = _record(conn, best)
        with self._db.write() as conn:
            conn.execute(delete(bind_attempts).where(bind_attempts.c.subject == subject))
        return record

    def _reserve(self, subject: str, now: datetime) -> None:
        """Count one guess against ``subject``; refused (nothing counted) while it is locked."""
        t = bind_attempts
        now_ts = now.timestamp()
        lock_ts = (now + timedelta(minutes=self._lock_minutes)).timestamp()
        with self._db.write() as conn:
            conn.execute(self._db.insert_ignoring(t, ["subject"]).values(subject=subject, misses=0, locked_until=None))
            expired = and_(t.c.locked_until.is_not(None), t.c.locked_until <= now_ts)
            misses = case((expired, 1), else_=t.c.misses + 1)
            row = conn.execute(update(t).where(t.c.subject == subject, or_(t.c.locked_until.is_(None), expired))
                               .values(misses=misses, locked_until=case((misses >= self._max_misses, lock_ts),
                                                                        else_=None))
                               .returning(t.c.misses)).first()
            if row is None:
                until = conn.execute(select(t.c.locked_until).where(t.c.subject == subject)).scalar()
                minutes = max(1, math.ceil((float(until or now_ts) - now_ts) / 60))
                log.info("student_page.locked")
                raise StudentRefusal("too-many-attempts", "student.access.locked", minutes=minutes)

    def confirm(self, record_id: str, now: datetime, *, by: str = "student") -> StudentRecord:
        """Confirm an approved photo (a confirmed one stays as it is); 409 refusal otherwise."""
        with self._db.write() as conn:
            conn.execute(update(records).where(records.c.record_id == record_id, records.c.status == "approved")
                         .values(status="confirmed", confirmed_at=now.isoformat(), confirmed_by=by))
            row = conn.execute(select(*_COLUMNS).where(records.c.record_id == record_id)).first()
            if row is None or row.status != "confirmed":
                log.info("student_page.confirm_refused id=%s", record_id)
                raise StudentRefusal("not-approved", "student.refused.not_approved",
                                     state=row.status if row else "unknown")
            record = _record(conn, row)
        log.info("record.confirmed id=%s by=%s", record_id, by)
        return record

    def dispute(self, record_id: str, reason: str, now: datetime) -> StudentRecord:
        """Send an approved photo back to the end of the review queue with the student's reason."""
        with self._db.write() as conn:
            changed = conn.execute(
                update(records).where(records.c.record_id == record_id, records.c.status == "approved")
                .values(status="queued", queue_seq=next_queue_seq(conn), reason=None, dispute_reason=reason,
                        disputed_at=now.isoformat()).returning(records.c.record_id)).first()
            row = conn.execute(select(*_COLUMNS).where(records.c.record_id == record_id)).first()
            if changed is None or row is None:
                log.info("student_page.dispute_refused id=%s", record_id)
                raise StudentRefusal("not-approved", "student.refused.not_approved",
                                     state=row.status if row else "unknown")
            record = _record(conn, row)
        log.info("record.disputed id=%s", record_id)
        return record

    def auto_confirm(self, now: datetime, zone: ZoneInfo) -> int:
        """Confirm every approved photo of the batches that have ended by ``now``; how many."""
        with self._db.read() as conn:
            ended = [str(r.feature_code) for r in conn.execute(select(batches.c.feature_code, batches.c.data))
                     if batch_end(str(json.loads(r.data).get("end_date", "9999-12-31")), zone) <= now]
        if not ended:
            return 0
        with self._db.write() as conn:
            done = conn.execute(update(records).where(records.c.status == "approved", records.c.batch.in_(ended))
                                .values(status="confirmed", confirmed_at=now.isoformat(), confirmed_by="auto")
                                .returning(records.c.record_id)).all()
        if done:
            log.info("record.auto_confirmed count=%d batches=%d", len(done), len(ended))
        return len(done)

    def set_contact(self, record_id: str, station: str, phone: str, now: datetime) -> bool:
        """Keep the phone number the student left at ``station`` (with consent); False when not its record."""
        where = [records.c.record_id == record_id]
        if station != "admin":
            where.append(records.c.uploaded_by == station)
        with self._db.write() as conn:
            done = conn.execute(update(records).where(*where)
                                .values(contact_phone=phone, contact_consent_at=now.isoformat())
                                .returning(records.c.record_id)).first()
        if done is not None:
            log.info("record.contact_set id=%s", record_id)
        return done is not None

    def lookup(self, batch: str, student_uid: str) -> dict[str, Any] | None:
        """The student's current record in ``batch`` (3c): in review, else the latest rejected."""
        with self._db.read() as conn:
            rows = conn.execute(select(*_COLUMNS).where(records.c.batch == batch,
                                                        records.c.student_uid == student_uid,
                                                        records.c.status.in_(list(_RANK)))).all()
            rows = [r for r in rows if _RANK[r.status] != 1]
            if not rows:
                return None
            best = min(rows, key=lambda r: (_RANK[r.status], -datetime.fromisoformat(r.captured_at).timestamp()))
            return {"record_id": str(best.record_id), "status": str(best.status),
                    "queue_position": queue_position(conn, str(best.record_id)), "reason": best.reason,
                    "captured_at": str(best.captured_at), "station_id": str(best.station_id)}

