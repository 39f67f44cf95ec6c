"""Retention: what the station deletes, and when.

* A photo (and its original) is deleted ``photo_days_after_ack`` days after
  the server acknowledged it: the server holds the copy that counts.
* Everything about a record is deleted ``record_days`` days after capture.
* A student's retake count is deleted ``record_days`` days after it last changed.
* A record the server has not acknowledged (or whose code, bound at the
  station, it has not taken yet) is never deleted, however old: it is
  reported as a warning for the operator instead.

Rows are marked first and files unlinked after, so an interrupted purge is
finished by the next one and never leaves a row pointing at a missing photo.
The audit events (ids and states, no personal data) are kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk import durable
from kiosk.store.record import card_path, format_time

if TYPE_CHECKING:
    from kiosk.store import Store

log = logging.getLogger(__name__)


@dataclass
class PurgeReport:
    """What a purge deleted (or, in a dry run, would delete)."""

    dry_run: bool
    photos_deleted: list[str] = field(default_factory=list)  # record ids whose photo files went
    records_deleted: list[str] = field(default_factory=list)  # record ids removed entirely
    unsent_kept: list[str] = field(default_factory=list)  # past retention but never acknowledged
    bytes_freed: int = 0
    errors: list[str] = field(default_factory=list)  # files that could not be removed (errno)
    retakes_deleted: int = 0  # retake counts older than the records' limit

    @property
    def warnings(self) -> list[str]:
        """One line per record kept past its retention because it was never sent."""
        return [f"unsent record kept: {rid}" for rid in self.unsent_kept]

    def summary(self) -> dict[str, int | bool]:
        """Counts for logs and the command line."""
        return {"dry_run": self.dry_run, "photos_deleted": len(self.photos_deleted),
                "records_deleted": len(self.records_deleted), "unsent_kept": len(self.unsent_kept),
                "bytes_freed": self.bytes_freed, "errors": len(self.errors)}


def purge_records(store: Store, now: datetime, photo_days_after_ack: int, record_days: int,
                  dry_run: bool) -> PurgeReport:
    """Apply the retention rules at ``now``; see the module's docstring."""
    report = PurgeReport(dry_run=dry_run)
    conn = store.conn
    ack_limit = format_time(now - timedelta(days=photo_days_after_ack))
    record_limit = format_time(now - timedelta(days=record_days))
    expired = conn.execute("SELECT id, sync_state, binding_state, photo_path, original_path FROM records "
                           "WHERE captured_at <= ? ORDER BY seq", (record_limit,)).fetchall()
    # a code bound at the station that the server has not taken yet is unsent data too
    done = [r["sync_state"] == "sent" and r["binding_state"] != "pending" for r in expired]
    whole = [r for r, ok in zip(expired, done, strict=True) if ok]
    report.unsent_kept = [r["id"] for r, ok in zip(expired, done, strict=True) if not ok]
    photos = conn.execute("SELECT id, photo_path, original_path FROM records WHERE sync_state = 'sent' "
                          "AND sent_at <= ? AND photo_deleted_at IS NULL AND captured_at > ? ORDER BY seq",
                          (ack_limit, record_limit)).fetchall()
    report.photos_deleted = [r["id"] for r in photos]
    report.records_deleted = [r["id"] for r in whole]
    files = [store.data_dir / rel for r in [*photos, *whole] for rel in _files(r) if rel]
    report.bytes_freed = sum(p.stat().st_size for p in files if p.exists())
    for rid in report.unsent_kept:
        log.warning("retention.unsent_kept id=%s", rid)
    if dry_run:
        return report
    stamp = format_time(store.now())
    with store.write() as w:
        for r in [*photos, *whole]:
            changed = w.execute("UPDATE records SET photo_deleted_at = ? WHERE id = ? AND photo_deleted_at IS NULL",
                                (stamp, r["id"])).rowcount
            if changed:
                store.event(w, r["id"], "photo_deleted", "sent", "sent", detail="retention")
    # files of an earlier purge that was interrupted between its commit and its unlinks
    for r in conn.execute("SELECT photo_path, original_path FROM records WHERE photo_deleted_at IS NOT NULL"):
        files.extend(store.data_dir / rel for rel in _files(r) if rel and (store.data_dir / rel).exists())
    _unlink(files, report)
    with store.write() as w:
        for r in whole:
            w.execute("DELETE FROM records WHERE id = ?", (r["id"],))
            store.event(w, r["id"], "deleted", "sent", None, detail="retention")
        # nothing about a student outlives the records' limit: their retake counts go too
        report.retakes_deleted = w.execute("DELETE FROM retakes WHERE updated_at <= ?", (record_limit,)).rowcount
    if files:
        durable.fsync_dir(store.photos_dir)
    log.info("retention.purged photos=%d records=%d unsent_kept=%d bytes=%d", len(report.photos_deleted),
             len(report.records_deleted), len(report.unsent_kept), report.bytes_freed)
    return report


def _files(row: Any) -> tuple[str | None, ...]:
    """A record's files: its photo, its original and its record card."""
    return row["photo_path"], row["original_path"], card_path(row["photo_path"])


def _unlink(files: list[Path], report: PurgeReport) -> None:
    for path in files:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            report.errors.append(f"{path.name}: errno {exc.errno}")
            log.error("retention.unlink_failed file=%s errno=%s", path.name, exc.errno)
