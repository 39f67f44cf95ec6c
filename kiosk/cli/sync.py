"""``kiosk sync``: the upload daemon (``--once``: drain what is due and exit)."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from types import FrameType

from kiosk import watchdog
from kiosk.config import load_station
from kiosk.store import Store
from kiosk.sync import SyncClient, SyncReport
from kiosk.text import bilingual


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``kiosk sync``."""
    p.add_argument("--config", type=Path, help="station config file (kiosk.toml)")
    p.add_argument("--once", action="store_true", help="upload what is due, pull statuses, then exit")


def run(args: argparse.Namespace) -> int:
    """Run ``kiosk sync``; 0 when done (or stopped), 1 when the server refused the station's token."""
    cfg = load_station(args.config)
    with Store.open(cfg.station.data_dir) as store:
        report_startup(store)
        client = SyncClient(cfg.sync, store, cfg.station.id, batch_code=cfg.station.batch)
        try:
            if not args.once:
                _daemon(client)
                return 0
            report = client.run_once()
            print(bilingual("sync.once_done", sent=report.sent, retried=report.retried, dead=report.dead,
                            queued=store.queue_length()))
        finally:
            client.close()
    if report.paused:
        print(bilingual("sync.paused", reason=client.last_error or ""))
        return 1
    return 0


def _daemon(client: SyncClient) -> None:
    """Cycle until SIGTERM or SIGINT, pinging the systemd watchdog after each cycle."""
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop)

    def _cycle(report: SyncReport) -> None:
        watchdog.ping()

    watchdog.notify_ready()
    client.run_forever(stop, on_cycle=_cycle)
    watchdog.stopping()


def report_startup(store: Store) -> None:
    """Tell the operator what opening the store had to move aside."""
    s = store.startup
    if not s.clean:
        print(bilingual("records.startup_problems", orphans=len(s.orphans), missing=len(s.missing),
                        corrupt=len(s.corrupt), folder=str(store.quarantine_dir)))
