"""``kiosk purge``: delete students' data whose retention has ended (see ``kiosk.store.retention``).

Photos go ``[retention] photo_days_after_ack`` days after the server
acknowledged them, everything ``record_days`` after capture; a record the
server never acknowledged is kept, and reported. ``--dry-run`` only counts.

Exit status: 0 done (unsent records kept are a warning, printed and logged);
1 when some files could not be removed (see the log); 2 when the config or
the store cannot be used.
"""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime
from pathlib import Path

from kiosk import config
from kiosk.errors import KioskError
from kiosk.text import bilingual

log = logging.getLogger(__name__)


class PurgeOptionError(KioskError):
    """An option combination that could delete data early."""

    default_key = "purge.at_needs_dry_run"


def _moment(text: str) -> datetime:
    """An ISO date or date-time; naive values are taken as UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``kiosk purge``."""
    p.add_argument("--config", type=Path, default=None, help="kiosk.toml (defaults when omitted)")
    p.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    p.add_argument("--at", type=_moment, default=None, metavar="ISO-DATE",
                   help="with --dry-run: preview the purge as it would run on this date")
    p.add_argument("--list", action="store_true", help="also print the ids of the records concerned")


def run(args: argparse.Namespace, *, now: datetime | None = None) -> int:
    """Run ``kiosk purge``; ``now`` is for tests (the command uses the clock, or ``--at`` when dry-running)."""
    if args.at is not None and not args.dry_run:
        raise PurgeOptionError(detail="--at without --dry-run")
    from kiosk.store import Store

    cfg = config.load_station(args.config)
    retention = cfg.retention
    moment = now or args.at or datetime.now(UTC)
    if not (cfg.station.data_dir / Store.DB_NAME).exists():
        # nothing recorded yet; opening the store would create it, which a dry run must not do
        log.info("purge.no_store data_dir=%s", cfg.station.data_dir)
        print(bilingual("purge.no_store", path=str(cfg.station.data_dir)))
        return 0
    with Store.open(cfg.station.data_dir, check_photos="none") as store:
        report = store.purge(moment, retention.photo_days_after_ack, retention.record_days, dry_run=args.dry_run)
    counts = report.summary()
    log.info("purge.done dry_run=%s photos=%d records=%d unsent_kept=%d bytes=%d errors=%d", args.dry_run,
             counts["photos_deleted"], counts["records_deleted"], counts["unsent_kept"], counts["bytes_freed"],
             counts["errors"])
    print(bilingual("purge.dry_run" if args.dry_run else "purge.done", at=moment.strftime("%Y-%m-%d %H:%M"),
                    photos=counts["photos_deleted"], records=counts["records_deleted"],
                    mb=f"{report.bytes_freed / 1e6:.1f}", photo_days=retention.photo_days_after_ack,
                    record_days=retention.record_days))
    if args.list:
        for rid in report.photos_deleted:
            print(f"photo   {rid}")
        for rid in report.records_deleted:
            print(f"record  {rid}")
    if report.unsent_kept:
        print(bilingual("purge.unsent_kept", count=len(report.unsent_kept), days=retention.record_days))
        for rid in report.unsent_kept:
            print(f"unsent  {rid}")
    if report.errors:
        print(bilingual("purge.errors", count=len(report.errors)))
        return 1
    return 0
