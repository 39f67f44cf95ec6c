"""The reviewers' desk: who holds which record, what the review page shows, and decisions.

A reviewer holds a record through a row in ``review_claims`` that expires after
``claim_s``. Taking a record is one conditional statement (insert, or take
over a claim that has expired or is already the caller's); when it touches no
row, someone else holds the record. The look-up of candidates before it is
only a hint: two reviewers may both pick the same candidate, and only one of
them gets it. A decision takes (or renews) the claim the same way before the
status changes, so a reviewer can never decide a record another one holds.

The status change itself is ``RecordBook.review``, which writes the audit row
in the same transaction.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select

from kiosk.server import tables as t
from kiosk.server.console_schema import ClaimAnswer, Decision, EarlierCapture, Identity, ReviewDetail
from kiosk.server.db import Database
from kiosk.server.records import RecordBook
from kiosk.server.refusals import Refused
from kiosk.server.schema import ReviewResult
from kiosk.server.upsert import upsert
from kiosk.text import text

log = logging.getLogger(__name__)

#: candidates looked at per attempt to take the next record (others may be taking the first ones)
_CANDIDATES = 20
#: measurement values shown at most (a station's metadata is not trusted to be small)
_MAX_MEASUREMENTS = 40


@dataclass(frozen=True)
class Claim:
    """A record held by a reviewer until ``expires``."""

    record_id: str
    reviewer: str
    expires: datetime


def student_reason(code: str, note: str | None) -> str:
    """What the student reads for a rejection: the standard sentence, Chinese then English."""
    params = {"note": (note or "").strip()}
    return f"{text(f'console.reason.{code}.student', 'zh', **params)} / " \
           f"{text(f'console.reason.{code}.student', 'en', **params)}"


class ReviewDesk:
    """Claims over the review queue, and decisions through ``RecordBook.review``."""

    def __init__(self, db: Database, records: RecordBook, claim_s: float) -> None:
        self._db = db
        self._records = records
        self._claim_s = claim_s

    # -- claims ------------------------------------------------------------

    def take(self, record_id: str, reviewer: str, now: datetime) -> Claim | None:
        """Hold ``record_id`` for ``reviewer`` (renewing a claim of theirs); None when another holds it."""
        ts = now.timestamp()
        expires = ts + self._claim_s
        c = t.review_claims
        with self._db.write() as conn:
            got = upsert(conn, c, {"record_id": record_id, "reviewer": reviewer, "claimed_ts": ts,
                                   "expires_ts": expires}, ["record_id"],
                         {"reviewer": reviewer, "claimed_ts": ts, "expires_ts": expires},
                         where=or_(c.c.expires_ts <= ts, c.c.reviewer == reviewer))
        if not got:
            return None
        return Claim(record_id, reviewer, datetime.fromtimestamp(expires, UTC))

    def release(self, record_id: str, reviewer: str) -> None:
        """Give ``record_id`` back to the queue (only the holder can)."""
        with self._db.write() as conn:
            conn.execute(delete(t.review_claims).where(t.review_claims.c.record_id == record_id,
                                                       t.review_claims.c.reviewer == reviewer))

    def forget_claims(self, now: datetime) -> int:
        """Delete claims that have expired (the periodic purge); how many."""
        with self._db.write() as conn:
            return int(conn.execute(delete(t.review_claims)
                                    .where(t.review_claims.c.expires_ts <= now.timestamp())).rowcount)

    def holder(self, record_id: str, now: datetime) -> str | None:
        """Who holds ``record_id`` now, or None."""
        c = t.review_claims
        with self._db.read() as conn:
            return conn.execute(select(c.c.reviewer).where(c.c.record_id == record_id,
                                                           c.c.expires_ts > now.timestamp())).scalar_one_or_none()

    def waiting(self, batch: str | None, now: datetime) -> int:
        """Queued records nobody holds (of ``batch`` when given)."""
        r, c = t.records, t.review_claims
        held = select(c.c.record_id).where(c.c.expires_ts > now.timestamp())
        query = select(func.count()).select_from(r).where(r.c.status == "queued", r.c.record_id.not_in(held))
        if batch:
            query = query.where(r.c.batch == batch)
        with self._db.read() as conn:
            return int(conn.execute(query).scalar_one())

    def next(self, reviewer: str, now: datetime, batch: str | None = None) -> ClaimAnswer:
        """The record ``reviewer`` holds, else the first one waiting, now held for them; null when none."""
        ts = now.timestamp()
        r, c = t.records, t.review_claims
        mine = (select(r.c.record_id).join_from(r, c, r.c.record_id == c.c.record_id)
                .where(c.c.reviewer == reviewer, c.c.expires_ts > ts, r.c.status == "queued")
                .order_by(r.c.queue_seq))
        held = select(c.c.record_id).where(c.c.expires_ts > ts)
        free = (select(r.c.record_id).where(r.c.status == "queued", r.c.record_id.not_in(held))
                .order_by(r.c.queue_seq).limit(_CANDIDATES))
        if batch:
            mine, free = mine.where(r.c.batch == batch), free.where(r.c.batch == batch)
        for _ in range(3):  # others may take every candidate of one round
            with self._db.read() as conn:
                candidates = list(conn.execute(mine).scalars()) + list(conn.execute(free).scalars())
            if not candidates:
                break
            for record_id in candidates:
                claim = self.take(record_id, reviewer, now)
                if claim is None:
                    continue
                detail = self.detail(record_id, claim)
                if detail is not None:
                    log.info("review.claimed id=%s", record_id)
                    return ClaimAnswer(record=detail, waiting=self.waiting(batch, now))
                self.release(record_id, reviewer)  # decided meanwhile (by the admin token)
        return ClaimAnswer(record=None, waiting=self.waiting(batch, now))

    def open(self, record_id: str, reviewer: str, now: datetime) -> ReviewDetail:
        """``record_id`` held for ``reviewer``: 404 when it is not waiting, 409 when another holds it."""
        claim = self.take(record_id, reviewer, now)
        if claim is None:
            log.info("review.claim_refused id=%s", record_id)
            raise Refused("claimed", "another reviewer holds this record")
        detail = self.detail(record_id, claim)
        if detail is None:
            self.release(record_id, reviewer)
            raise Refused("not-waiting", "this record is not waiting for review")
        return detail

    # -- what the page shows -----------------------------------------------

    def detail(self, record_id: str, claim: Claim) -> ReviewDetail | None:
        """The review page's facts on a queued record, or None when it is not queued."""
        r = t.records
        with self._db.read() as conn:
            row = conn.execute(select(r).where(r.c.record_id == record_id)).first()
            if row is None or row.status != "queued":
                return None
            position = int(conn.execute(select(func.count()).select_from(r).where(
                r.c.status == "queued", r.c.queue_seq <= row.queue_seq)).scalar_one())
            previous: list[EarlierCapture] = []
            if row.student_uid:
                earlier = conn.execute(
                    select(r.c.record_id, r.c.captured_at, r.c.station_id, r.c.status, r.c.reason)
                    .where(r.c.student_uid == row.student_uid, r.c.record_id != record_id)
                    .order_by(r.c.captured_ts.desc()).limit(10)).all()
                previous = [EarlierCapture(record_id=e.record_id, captured_at=e.captured_at, station_id=e.station_id,
                                           status=e.status, reason=e.reason) for e in earlier]
        return ReviewDetail(
            record_id=record_id, batch=row.batch, station_id=row.station_id, captured_at=row.captured_at,
            queue_position=position, identity=_identity(row.code_json), measurements=_measurements(row.metadata),
            headwear_allowed=_headwear_allowed(row.metadata),
            previous=previous, claimed_by=claim.reviewer, claim_expires_at=claim.expires.isoformat(),
            photo_url=f"/api/v1/records/{record_id}/photo")

    # -- decisions -----------------------------------------------------------

    def decide(self, record_id: str, reviewer: str, decision: Decision, now: datetime) -> ReviewResult:
        """Apply ``decision`` to ``record_id`` for ``reviewer``; 409 when another reviewer holds it."""
        if self.take(record_id, reviewer, now) is None:
            log.info("review.decision_refused id=%s why=claimed", record_id)
            raise Refused("claimed", "another reviewer holds this record; nothing was changed")
        try:
            if decision.action == "approve":
                return self._records.review(record_id, "approve", None, now, reviewer=reviewer)
            code = decision.reason or "other"
            return self._records.review(record_id, "reject", student_reason(code, decision.note), now,
                                        reviewer=reviewer, reason_code=code)
        finally:
            self.release(record_id, reviewer)

    def refuse_if_held(self, record_id: str, caller: str, now: datetime) -> None:
        """409 when a reviewer other than ``caller`` holds ``record_id`` (for decisions without a claim)."""
        holder = self.holder(record_id, now)
        if holder is not None and holder != caller:
            raise Refused("claimed", "a reviewer holds this record; nothing was changed")


def _identity(code_json: str | None) -> Identity | None:
    if not code_json:
        return None
    try:
        code = json.loads(code_json)
    except ValueError:
        return None
    if not isinstance(code, dict):
        return None
    return Identity(**{k: str(code.get(k) or "")[:200] for k in Identity.model_fields})


def _headwear_allowed(metadata: str) -> bool:
    """Whether the station's staff allowed headwear for this capture (as sent in the metadata)."""
    try:
        return json.loads(metadata).get("headwear_allowed") is True
    except (ValueError, AttributeError):
        return False


def _measurements(metadata: str) -> dict[str, Any]:
    """The station's measurements carried in the metadata (as sent; only scalar values)."""
    try:
        found = json.loads(metadata).get("measurements")
    except (ValueError, AttributeError):
        return {}
    if not isinstance(found, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in list(found.items())[:_MAX_MEASUREMENTS]:
        if isinstance(value, bool | int | float | str) or value is None:
            out[str(key)[:64]] = value[:64] if isinstance(value, str) else value
    return out

