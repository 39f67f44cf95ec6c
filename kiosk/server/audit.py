"""The review audit: one row per decision (who, when, what, why), kept past retention.

Written in the same transaction as the status change it describes, so there is
never a decision without its audit row or the other way round. It names the
record by id only: deleting a record after a year leaves the audit without any
personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from kiosk.server import tables as t


@dataclass(frozen=True)
class AuditEntry:
    """One decision as audited."""

    record_id: str
    batch: str
    actor: str
    action: str
    reason_code: str | None
    reason: str | None
    at: str


def write_entry(conn: Connection, entry: AuditEntry, now: datetime) -> None:
    """Add ``entry`` (inside the caller's transaction)."""
    conn.execute(t.review_audit.insert().values(
        record_id=entry.record_id, batch=entry.batch, actor=entry.actor, action=entry.action,
        reason_code=entry.reason_code, reason=entry.reason, at=entry.at, at_ts=now.timestamp()))


def of_record(conn: Connection, record_id: str) -> list[AuditEntry]:
    """The decisions on ``record_id``, oldest first."""
    a = t.review_audit
    rows = conn.execute(select(a).where(a.c.record_id == record_id).order_by(a.c.id)).all()
    return [AuditEntry(r.record_id, r.batch, r.actor, r.action, r.reason_code, r.reason, r.at) for r in rows]
