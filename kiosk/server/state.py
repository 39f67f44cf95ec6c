"""The server's shared state: the database, the books over it, the photos, the clock and the notifier.

``open_state(config)`` opens them once per process; ``create_app`` (kiosk/server/app.py)
hands each router the parts it needs, and the background task runs
``ServerState.maintain`` (automatic confirmation, notices, retention purge).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kiosk.config import ConfigError, ServerConfig
from kiosk.server.accounts import Accounts
from kiosk.server.auth import AdminTokenError, StationTokens, read_admin_token
from kiosk.server.batches import BatchBook, load_batches_file
from kiosk.server.binding import Binder, BindLimits, CodeChecker, KioskCodes
from kiosk.server.blobs import BlobStore, open_blob_store
from kiosk.server.console_auth import Gate
from kiosk.server.db import Database, open_database
from kiosk.server.notify import Notifier, make_notifier
from kiosk.server.outbox import Outbox
from kiosk.server.records import RecordBook
from kiosk.server.retention import PurgeReport, purge, sweep_orphans
from kiosk.server.review_desk import ReviewDesk
from kiosk.server.station_board import StationBoard
from kiosk.server.students import StudentBook


@dataclass
class ServerState:
    """Everything the routes share: the database and the books over it, the admin token, the clock."""

    config: ServerConfig
    db: Database
    photos: BlobStore
    records: RecordBook
    batches: BatchBook
    tokens: StationTokens
    binder: Binder
    admin_token: str
    clock: Callable[[], datetime]
    accounts: Accounts
    desk: ReviewDesk
    stations: StationBoard
    gate: Gate
    students: StudentBook
    #: the collection days' time zone (``[server] timezone``)
    zone: ZoneInfo
    #: review results for students' phones; None when no channel is configured
    outbox: Outbox | None = None

    def purge(self, *, dry_run: bool = False) -> PurgeReport:
        """Run the retention purge now (records and photos past ``retention_days``)."""
        now = self.clock()
        days = self.config.server.retention_days
        report = purge(self.db, self.photos, now, days, dry_run=dry_run)
        report.photos += sweep_orphans(self.db, self.photos, now, days, dry_run=dry_run)
        if not dry_run:
            self.accounts.forget_sessions(now)
            self.desk.forget_claims(now)
        return report

    def maintain(self) -> PurgeReport:
        """The periodic run: confirm the approved photos of ended batches, send notices, purge."""
        self.students.auto_confirm(self.clock(), self.zone)
        if self.outbox is not None:
            self.outbox.dispatch()
        return self.purge()


def open_state(config: ServerConfig, *, admin_token: str | None = None, codebook: CodeChecker | None = None,
               clock: Callable[[], datetime] | None = None,
               on_record_received: Callable[[str], None] | None = None,
               notifier: Notifier | None = None) -> ServerState:
    """Open the server's data (database, photos, batches file) for ``config``.

    ``admin_token`` defaults to the contents of ``[server] admin_token_file``
    (which must have mode 0600); ``codebook`` to ``kiosk.codes`` with ``[codes]``;
    ``notifier`` to the channel ``[server] notifier`` names.
    """
    section = config.server
    zone = time_zone(section.timezone)
    notifier = notifier or make_notifier(section)
    token = admin_token if admin_token is not None else read_admin_token(section.admin_token_file)
    if len(token) < 16:
        raise AdminTokenError("server.admin_token_short", "given admin token", file="-")
    db = open_database(section.data_dir, section.database)
    photos = open_blob_store(section.blob_store, db, section.data_dir)
    batches = BatchBook(db)
    now_fn = clock or (lambda: datetime.now(UTC))
    if section.batches_file:
        for batch in load_batches_file(Path(section.batches_file)):
            batches.put(batch, now_fn())
    binder = Binder(db, batches, codebook or KioskCodes(config.codes),
                    BindLimits(section.bind_max_misses, section.bind_lock_minutes,
                               section.bind_client_max_misses, section.bind_station_max_misses))
    records = RecordBook(db, photos, section.max_photo_bytes, on_record_received)
    records.outbox = Outbox(db, notifier, now_fn) if notifier is not None else None
    accounts = Accounts.for_settings(db, section)
    tokens = StationTokens(db)
    return ServerState(config=config, db=db, photos=photos, records=records, batches=batches,
                       tokens=tokens, binder=binder, admin_token=token, clock=now_fn, accounts=accounts,
                       desk=ReviewDesk(db, records, section.review_claim_minutes * 60), stations=StationBoard(db),
                       gate=Gate(accounts, token, now_fn, tokens.station_for),
                       students=StudentBook(db, max_misses=section.bind_max_misses,
                                            lock_minutes=section.bind_lock_minutes),
                       zone=zone, outbox=records.outbox)


def time_zone(name: str) -> ZoneInfo:
    """The zone ``[server] timezone`` names; ``ConfigError`` for a name the system does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(detail=f"[server] timezone: unknown zone {name!r}", file="server.toml",
                          setting="server.timezone", expected="an IANA zone name such as Asia/Shanghai") from None
