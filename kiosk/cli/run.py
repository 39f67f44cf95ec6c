"""``kiosk run``: open the station's touch screen (fullscreen kiosk, or ``--windowed``)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from kiosk.config import load_station
from kiosk.log import setup_logging

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``kiosk run``."""
    p.add_argument("--config", type=Path, default=None, help="station config (kiosk.toml); defaults when omitted")
    p.add_argument("--windowed", action="store_true", help="an ordinary window for development, not kiosk mode")


def run(args: argparse.Namespace) -> int:
    """Run the station until operator mode leaves kiosk mode."""
    config = load_station(args.config)
    setup_logging(config.logging)
    from kiosk.ui.app import ensure_application, quit_on_signals, survive_handler_errors

    app = ensure_application()
    survive_handler_errors()
    wake = quit_on_signals(app)  # noqa: F841 - the timer must live as long as the loop
    from kiosk.store import Store
    from kiosk.ui.session import build_ui
    from kiosk.ui.wiring import make_station, open_camera, status_refresher, student_lookup

    try:
        from kiosk import watchdog
    except ImportError:  # the watchdog is optional
        watchdog = None  # type: ignore[assignment]
    store = Store.open(config.station.data_dir)
    source, grabber = open_camera(config)
    station = make_station(config, store, refresh_status=status_refresher(config, store), grabber=grabber,
                           camera_name=getattr(source, "name", ""), lookup_remote=student_lookup(config, store))
    session = build_ui(config, station, grabber, kiosk_mode=not args.windowed, state=station.initial_state(),
                       ping=watchdog.ping if watchdog is not None else None)
    session.window.left_kiosk.connect(app.quit)
    session.window.present()
    session.start()
    if watchdog is not None:
        watchdog.notify_ready()
    log.info("station.started id=%s", config.station.id)
    try:
        return int(app.exec_())
    finally:
        session.stop()
        grabber.stop()
        source.close()
        store.close()
