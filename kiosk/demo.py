"""The demo: the whole station loop on one machine, with the production code paths.

``DemoSite`` sets up a temporary data folder with demo code keys, the
reference server on a loopback port with a demo batch and a reviewer and a
coordinator for its review console, a station token file (mode 0600), the
station's store and a sync loop in a thread (the same ``SyncClient`` the sync
daemon runs). The camera is the configured one, or the
demo camera when none is found (always the demo camera when headless).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.batch import Batch
from kiosk.config import (
    CameraSection,
    CodesSection,
    FlowSection,
    ServerConfig,
    ServerSection,
    StationConfig,
    StationSection,
    SyncSection,
)

log = logging.getLogger(__name__)

STATION_ID = "demo-01"
FEATURE_CODE = "DEMO26"


def demo_batch(today: date | None = None, zone: str = ServerSection().timezone) -> Batch:
    """Today's demo collection day (with a fee notice, so every screen shows).

    "Today" is this machine's date and the date in the server's zone (they differ for part of the
    day when this machine runs on UTC): the day runs over both, so a photo taken now falls inside
    it and the student's page does not name a deadline before the photo was taken.
    """
    here = today or date.today()
    there = today or datetime.now(ZoneInfo(zone)).date()
    return Batch(feature_code=FEATURE_CODE, school_code="10001", school_name="示范大学",
                 start_date=min(here, there).isoformat(), end_date=max(here, there).isoformat(), hours="08:30-17:00",
                 fee_required=True,
                 fee_note="本次采集费用由学校统一支付，您无需缴费。/ The school pays the fee; you pay nothing.",
                 help_phone="400-800-1234", help_hours="周一至周五 9:00-17:00（法定节假日除外）")


class DemoSite:
    """Everything around the station for a demo run; ``close()`` takes it down again."""

    def __init__(self, root: Path | None = None, *, camera: str = "demo", sync_poll_s: float = 0.3) -> None:
        self._own_root = root is None
        self.root = Path(root or tempfile.mkdtemp(prefix="kiosk-demo-"))
        self.camera_choice = camera
        self.sync_poll_s = sync_poll_s
        self.server: Any = None
        self.store: Any = None
        self.sync_store: Any = None
        self.sync_client: Any = None
        self.sync_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.students: list[Any] = []
        #: the review console's reviewer and coordinator (kiosk/console_tour.py)
        self.console_users: tuple[Any, ...] = ()
        self.batch = demo_batch()
        self.config = StationConfig()
        self._extra_stores: list[Any] = []

    def start(self) -> StationConfig:
        """Keys, server, batch, token, store and sync loop; the station's config."""
        from kiosk.codes import demo_codes
        from kiosk.codes.keyring import KeyRing
        from kiosk.console_tour import add_demo_users
        from kiosk.server.embedded import EmbeddedServer
        from kiosk.store import Store
        from kiosk.sync import SyncClient

        os.chmod(self.root, 0o700)
        key_file = self.root / "code-keys.json"
        keyring = KeyRing.generate(key_file, overwrite=True)
        codes = CodesSection(key_file=key_file)
        server_dir = self.root / "server"
        server_config = ServerConfig(
            server=ServerSection(data_dir=server_dir, admin_token_file=server_dir / "admin.token"), codes=codes)
        self.server = EmbeddedServer(server_config)
        base_url = self.server.start()
        self.server.add_batch(self.batch)
        token_file = self.root / "station.token"
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(self.server.issue_station_token(STATION_ID))
        self.students = demo_codes(keyring, self.batch, n=3)
        self.console_users = add_demo_users(self.server.state.accounts, self.server.state.clock())
        station_dir = self.root / "station"
        station_dir.mkdir(mode=0o700, exist_ok=True)
        base = StationConfig()
        self.config = dataclasses.replace(
            base,
            station=StationSection(id=STATION_ID, data_dir=station_dir, language="zh", batch=FEATURE_CODE),
            codes=codes,
            camera=dataclasses.replace(base.camera, source=self.camera_choice),
            flow=FlowSection(status_url=f"{base_url}/api/v1/records/{{record_id}}"),
            sync=SyncSection(server_url=base_url, token_file=token_file, poll_s=self.sync_poll_s,
                             status_every_s=1.0, backoff_base_s=0.2, backoff_cap_s=2.0, connect_timeout_s=2,
                             read_timeout_s=5),
        )
        self.store = Store.open(station_dir)
        self.sync_store = Store.open(station_dir)
        self.sync_client = SyncClient(self.config.sync, self.sync_store, STATION_ID, worker="demo-sync",
                                      batch_code=FEATURE_CODE)
        self.sync_thread = threading.Thread(target=self._sync, name="demo-sync", daemon=True)
        self.sync_thread.start()
        log.info("demo.started port=%d", self.server.port)
        return self.config

    def _sync(self) -> None:
        # the sync daemon is its own process in production; here it must not take the screen's CPU
        from kiosk.ui.bridge import lower_thread_priority

        lower_thread_priority()
        self.sync_client.run_forever(self._stop)

    def second_station(self) -> Any:
        """A second station on the same server (its own store), for the status-elsewhere step.

        It asks the server for a student's record (``POST /api/v1/students/lookup``).
        While the embedded server has no such call yet, the demo stands in for it
        with the first station's record as the server last reported it; the
        station code path is the same either way.
        """
        from kiosk.store import Store
        from kiosk.sync.staff_calls import LookupUnsupported, RemoteRecord
        from kiosk.ui.wiring import make_station, student_lookup

        folder = self.root / "station2"
        folder.mkdir(mode=0o700, exist_ok=True)
        config = dataclasses.replace(self.config, station=dataclasses.replace(self.config.station, id="demo-02",
                                                                              data_dir=folder))
        store = Store.open(folder)
        peer = Store.open(self.config.station.data_dir, check_photos="none")
        self._extra_stores += [store, peer]
        ask = student_lookup(config, store)

        def lookup(batch: str, student_uid: str) -> Any:
            try:
                if ask is not None:
                    return ask(batch, student_uid)
            except LookupUnsupported:
                log.info("demo.lookup_stand_in")
            records = [r for r in peer.find_by_student(student_uid) if r.batch == batch]
            if not records:
                return None
            r = records[0]
            return RemoteRecord(r.id, r.review_status or "queued", r.queue_position, r.review_reason,
                                r.captured_at, r.station_id)

        return make_station(config, store, lookup_remote=lookup)

    @property
    def camera_settings(self) -> CameraSection:
        """The camera settings in use."""
        return self.config.camera

    def close(self) -> None:
        """Stop the sync loop and the server; remove the temporary folder if it was ours."""
        self._stop.set()
        if self.sync_thread is not None:
            self.sync_thread.join(timeout=10)
        for store in (self.sync_store, self.store, *self._extra_stores):
            if store is not None:
                store.close()
        if self.sync_client is not None:
            self.sync_client.close()
        if self.server is not None:
            self.server.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)
