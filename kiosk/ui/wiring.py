"""Assembling a station from its settings: the controller's parts and the camera.

``kiosk run`` and ``kiosk demo`` build the same station here, so the demo runs
the production code paths with demo keys, a demo camera and a loopback server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.config import StationConfig
from kiosk.errors import KioskError

log = logging.getLogger(__name__)


def make_station(config: StationConfig, store: Any, *, refresh_status: Callable[[], object] | None = None,
                 grabber: Any = None, camera_name: str = "",
                 lookup_remote: Callable[[str, str], Any] | None = None) -> Any:
    """The session controller with the codebook, locks, scanner, analyzer and batch source of ``config``."""
    from kiosk.codes import CodeBook
    from kiosk.codes.attempts import AttemptLock
    from kiosk.flow import HealthItem
    from kiosk.operator import PinLock
    from kiosk.portrait.analysis import Analyzer
    from kiosk.portrait.autocapture import AutoCapture
    from kiosk.portrait.standard import make_photo
    from kiosk.scanner import Scanner
    from kiosk.station import Station, StationParts
    from kiosk.station.batches import BatchSource

    data_dir = Path(config.station.data_dir)
    fetch = None
    if config.sync.server_url:
        from kiosk import sync

        def fetch(code: str) -> Any:
            return sync.fetch_batch(config.sync, data_dir, code)
    portrait = config.portrait
    scanner = Scanner(config.scanner)
    probes: dict[str, Callable[[], HealthItem]] = {
        "scanner": lambda: HealthItem("scanner", True, scanner.decoder.name),
    }
    if grabber is not None:
        # the device name is language-neutral; its state is said in words from the strings table
        probes["camera"] = lambda: HealthItem("camera", grabber.state == "ok", camera_name,
                                              note_key=f"camera.state.{grabber.state}")
    parts = StationParts(
        station_id=config.station.id,
        flow=config.flow,
        store=store,
        codebook=CodeBook.from_settings(config.codes),
        attempts=AttemptLock(data_dir / "attempts.sqlite", config.codes.max_attempts, config.codes.lock_minutes),
        pin_lock=PinLock.from_settings(config.operator, data_dir),
        batches=BatchSource(data_dir, config.station.batch, fetch),
        scanner=scanner,
        analyzer=Analyzer(portrait),
        make_autocapture=lambda: AutoCapture(portrait),
        make_photo=make_photo,
        portrait=portrait,
        refresh_status=refresh_status,
        status_url=config.flow.status_url,
        health_probes=probes,
        public_url=public_url(config),
        lookup_remote=lookup_remote,
        receipt_printer=config.station.receipt_printer,
        help_phone=config.help.phone,
        help_hours=config.help.hours,
        check_days=config.flow.check_days,
    )
    return Station(parts)


def public_url(config: StationConfig) -> str:
    """The server as students' phones reach it: ``[station] public_url``, else ``[sync] server_url``."""
    return (config.station.public_url or config.sync.server_url).rstrip("/")


def student_lookup(config: StationConfig, store: Any) -> Callable[[str, str], Any] | None:
    """Asks the server for a student's current record (a second station's check); None when offline by config."""
    if not config.sync.server_url:
        return None
    from kiosk.sync import SyncClient
    from kiosk.sync.staff_calls import lookup_student

    try:
        client = SyncClient(config.sync, store, config.station.id)
    except KioskError as exc:
        log.warning("student_lookup.unavailable key=%s", exc.key)
        return None

    def lookup(batch: str, student_uid: str) -> Any:
        return lookup_student(client, batch, student_uid)

    return lookup


def status_refresher(config: StationConfig, store: Any) -> Callable[[], object] | None:
    """A call that pulls review statuses from the server into ``store`` (None when offline by config)."""
    if not config.sync.server_url:
        return None
    from kiosk.sync import SyncClient

    try:
        client = SyncClient(config.sync, store, config.station.id)
    except KioskError as exc:
        log.warning("status_refresh.unavailable key=%s", exc.key)
        return None

    def refresh() -> object:
        # a status is "fresh" only when the server answered; a quiet failure must read as offline
        try:
            answer = client.session.get(f"{client.base_url}/api/v1/health", timeout=(2.0, 3.0),
                                        allow_redirects=False)
            if answer.status_code != 200:
                return False
            client.pull_status()
        except (KioskError, OSError) as exc:
            log.info("status_refresh.failed error=%s", getattr(exc, "key", type(exc).__name__))
            return False
        return True

    return refresh


def open_camera(config: StationConfig) -> tuple[Any, Any]:
    """``(source, grabber)``: the configured camera (the demo camera when "auto" finds none), grabbing."""
    from kiosk.camera import open_source
    from kiosk.camera.grabber import Grabber

    source = open_source(config.camera)
    log.info("camera.opened name=%s", getattr(source, "name", "?"))
    grabber = Grabber(source, config.camera.reconnect_max_s).start()
    return source, grabber
