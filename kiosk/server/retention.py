"""Retention: records and their photos are deleted ``retention_days`` after capture.

Rows go first, in one transaction; a photo file is then removed only when no
remaining record refers to it (files are shared by content). A crash between the
two leaves files that no record names; ``sweep_orphans``, run with every scheduled
purge, removes such files once they are older than the retention period.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kiosk.server.db import Database
from kiosk.server.photos import PhotoStore

log = logging.getLogger(__name__)


@dataclass
class PurgeReport:
    """What a purge deleted (or, in a dry run, would delete)."""

    cutoff: datetime
    records: int = 0
    photos: int = 0
    record_ids: list[str] = field(default_factory=list)
    dry_run: bool = False


def purge(db: Database, photos: PhotoStore, now: datetime, retention_days: int, *,
          dry_run: bool = False) -> PurgeReport:
    """Delete records captured at or before ``now - retention_days`` and their unshared photos."""
    cutoff = now - timedelta(days=retention_days)
    report = PurgeReport(cutoff=cutoff, dry_run=dry_run)
    with db.write() as conn:
        rows = conn.execute("SELECT record_id, photo_sha256, original_sha256 FROM records WHERE captured_ts<=?",
                            (cutoff.timestamp(),)).fetchall()
        report.record_ids = [str(r["record_id"]) for r in rows]
        report.records = len(rows)
        hashes = {h for r in rows for h in (r["photo_sha256"], r["original_sha256"]) if h}
        if not dry_run:
            conn.execute("DELETE FROM records WHERE captured_ts<=?", (cutoff.timestamp(),))
            conn.execute("DELETE FROM ticket_attempts WHERE ticket NOT IN "
                         "(SELECT ticket FROM records WHERE ticket IS NOT NULL)")
        still_used = {
            h for h in hashes
            if conn.execute("SELECT 1 FROM records WHERE (photo_sha256=? OR original_sha256=?) AND captured_ts>?",
                            (h, h, cutoff.timestamp())).fetchone()
        }
    for sha in sorted(hashes - still_used):
        if dry_run:
            report.photos += int(photos.exists(sha))
        elif photos.delete(sha):
            report.photos += 1
    log.info("purge.%s records=%d photos=%d", "dry_run" if dry_run else "done", report.records, report.photos)
    return report


def sweep_orphans(db: Database, photos: PhotoStore, now: datetime, retention_days: int, *,
                  dry_run: bool = False) -> int:
    """Remove photo files that no record names and that were written before the cutoff; how many."""
    cutoff = (now - timedelta(days=retention_days)).timestamp()
    removed = 0
    for path in photos.root.glob("*/*.jpg"):
        sha = path.stem
        try:
            if os.stat(path).st_mtime > cutoff:
                continue
        except FileNotFoundError:
            continue
        if not _named(db, sha):
            removed += 1
            if not dry_run:
                photos.delete(sha)
    if removed:
        log.info("purge.orphans photos=%d dry_run=%s", removed, dry_run)
    return removed


def _named(db: Database, sha: str) -> bool:
    """Whether a record names the photo ``sha`` (as its photo or its original)."""
    with db.read() as conn:
        return conn.execute("SELECT 1 FROM records WHERE photo_sha256=? OR original_sha256=?",
                            (sha, sha)).fetchone() is not None


def discard_orphans(db: Database, photos: PhotoStore, shas: list[str]) -> int:
    """Remove at once the photos ``shas`` of a refused upload that no record names; how many."""
    removed = sum(1 for sha in dict.fromkeys(shas) if not _named(db, sha) and photos.delete(sha))
    if removed:
        log.info("purge.refused_upload photos=%d", removed)
    return removed


async def purge_periodically(run: Callable[[], object], every_s: float) -> None:
    """Call ``run`` (a blocking purge) in a worker thread now and then every ``every_s`` seconds."""
    while True:
        try:
            await asyncio.to_thread(run)
        except (OSError, sqlite3.Error) as exc:
            # A disk or database hiccup must not stop the schedule; the next run tries again.
            log.error("purge.failed error=%s", exc)
        await asyncio.sleep(every_s)
