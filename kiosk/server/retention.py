"""Retention: records and their photos are deleted ``retention_days`` after capture.

Everything of a record goes with it: the row (metadata, code, status link hash,
contact number) and its notifications; audits are kept.

Rows go first, in one transaction; a photo is then removed only when no
remaining record refers to it (photos are shared by content). A crash between the
two leaves photos that no record names; ``sweep_orphans``, run with every scheduled
purge, removes such photos once they are older than the retention period. It asks
the blob store for photos stored before the cutoff (an index range scan, see
``kiosk.server.blobs``), never walks the photo folder.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, literal, or_, select
from sqlalchemy.exc import SQLAlchemyError

from kiosk.server.blobs import BlobStore
from kiosk.server.db import Database
from kiosk.server.tables import bind_attempts, notification_outbox, queue_numbers, records

log = logging.getLogger(__name__)

#: photos the orphan sweep looks at per query
SWEEP_PAGE = 500


@dataclass
class PurgeReport:
    """What a purge deleted (or, in a dry run, would delete)."""

    cutoff: datetime
    records: int = 0
    photos: int = 0
    record_ids: list[str] = field(default_factory=list)
    dry_run: bool = False


def purge(db: Database, photos: BlobStore, now: datetime, retention_days: int, *,
          dry_run: bool = False) -> PurgeReport:
    """Delete records captured at or before ``now - retention_days`` and their unshared photos."""
    cutoff = now - timedelta(days=retention_days)
    report = PurgeReport(cutoff=cutoff, dry_run=dry_run)
    cutoff_ts = cutoff.timestamp()
    r = records.c
    with db.write() as conn:
        rows = conn.execute(select(r.record_id, r.photo_sha256, r.original_sha256)
                            .where(r.captured_ts <= cutoff_ts)).all()
        report.record_ids = [str(row.record_id) for row in rows]
        report.records = len(rows)
        hashes = {h for row in rows for h in (row.photo_sha256, row.original_sha256) if h}
        if not dry_run:
            conn.execute(delete(records).where(r.captured_ts <= cutoff_ts))
            # the student's notifications go with the record (their phone number is in them)
            conn.execute(delete(notification_outbox).where(
                notification_outbox.c.record_id.not_in(select(r.record_id))))
            # wrong last fours counted per code on the student's page: kept no longer than the records
            conn.execute(delete(bind_attempts).where(bind_attempts.c.subject.like("status:%"),
                                                     bind_attempts.c.locked_until.is_(None)))
            _forget_bind_counts(conn, now)
            # the identity column keeps counting without the rows it handed out
            top = conn.execute(select(queue_numbers.c.seq).order_by(queue_numbers.c.seq.desc()).limit(1)).scalar()
            if top is not None:
                conn.execute(delete(queue_numbers).where(queue_numbers.c.seq < top))
        still_used: set[str] = set()
        ordered = sorted(hashes)
        for i in range(0, len(ordered), 500):  # bounded statements, whatever a purge deletes at once
            chunk = ordered[i:i + 500]
            still_used.update(row.h for row in conn.execute(
                select(r.photo_sha256.label("h")).where(r.photo_sha256.in_(chunk), r.captured_ts > cutoff_ts)
                .union(select(r.original_sha256.label("h"))
                       .where(r.original_sha256.in_(chunk), r.captured_ts > cutoff_ts))))
    for sha in sorted(hashes - still_used):
        if dry_run:
            report.photos += int(photos.exists(sha))
        elif photos.delete(sha):
            report.photos += 1
    log.info("purge.%s records=%d photos=%d", "dry_run" if dry_run else "done", report.records, report.photos)
    return report


def sweep_orphans(db: Database, photos: BlobStore, now: datetime, retention_days: int, *,
                  dry_run: bool = False) -> int:
    """Remove photos that no record names and that were last stored before the cutoff; how many."""
    cutoff = (now - timedelta(days=retention_days)).timestamp()
    removed = 0
    seen: set[str] = set()
    while True:
        # pages of old photos; in a dry run nothing is deleted, so pages grow past what was seen
        page = [sha for sha in photos.older_than(cutoff, len(seen) + SWEEP_PAGE) if sha not in seen]
        if not page:
            break
        seen.update(page)
        named = _named_of(db, page)
        for sha in page:
            if sha in named:
                continue
            removed += 1
            if not dry_run:
                photos.delete(sha)
        if not dry_run and len(named) == len(page):
            break  # every old photo left is still named: the next page would be the same one
    if removed:
        log.info("purge.orphans photos=%d dry_run=%s", removed, dry_run)
    return removed


def _named_of(db: Database, shas: list[str]) -> set[str]:
    """Which of ``shas`` a record names (as its photo or its original)."""
    r = records.c
    with db.read() as conn:
        return {str(h) for h in conn.execute(
            select(r.photo_sha256.label("h")).where(r.photo_sha256.in_(shas))
            .union(select(r.original_sha256.label("h")).where(r.original_sha256.in_(shas)))).scalars()}


def _named(db: Database, sha: str) -> bool:
    """Whether a record names the photo ``sha`` (as its photo or its original)."""
    with db.read() as conn:
        return conn.execute(select(records.c.record_id).where(
            or_(records.c.photo_sha256 == sha, records.c.original_sha256 == sha)).limit(1)).first() is not None


def discard_orphans(db: Database, photos: BlobStore, shas: list[str]) -> int:
    """Remove at once the photos ``shas`` of a refused upload that no record names; how many."""
    removed = sum(1 for sha in dict.fromkeys(shas) if not _named(db, sha) and photos.delete(sha))
    if removed:
        log.info("purge.refused_upload photos=%d", removed)
    return removed


def _forget_bind_counts(conn: Connection, now: datetime) -> None:
    """Drop guess counts whose lock has run out, and those of tickets no record holds any more."""
    t = bind_attempts
    conn.execute(delete(t).where(t.c.locked_until.is_not(None), t.c.locked_until <= now.timestamp()))
    held = select(literal("ticket:") + records.c.ticket).where(records.c.ticket.is_not(None))
    conn.execute(delete(t).where(t.c.subject.like("ticket:%"), t.c.subject.not_in(held)))


async def purge_periodically(run: Callable[[], object], every_s: float) -> None:
    """Call ``run`` (a blocking purge) in a worker thread now and then every ``every_s`` seconds."""
    while True:
        try:
            await asyncio.to_thread(run)
        except (OSError, SQLAlchemyError) as exc:
            # A disk or database hiccup must not stop the schedule; the next run tries again.
            log.error("purge.failed error=%s", exc)
        await asyncio.sleep(every_s)
