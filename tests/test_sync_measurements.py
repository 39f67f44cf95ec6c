"""The photo's measurements travel in the upload to a real server; an older record replays as it was."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from test_store_measurements import MEASUREMENTS, OLDER_KEYS
from test_sync_fakes import jpeg_bytes

from kiosk.batch import Batch
from kiosk.config import ServerConfig, ServerSection, SyncSection
from kiosk.store import NewRecord, Store
from kiosk.sync import SyncClient

embedded = pytest.importorskip("kiosk.server.embedded")

_TODAY = datetime.now(UTC).date()
BATCH = Batch(feature_code="1S95KT", school_code="10001", school_name="示例大学",
              start_date=(_TODAY - timedelta(days=1)).isoformat(), end_date=(_TODAY + timedelta(days=1)).isoformat())


def _record(uid: str, **extra: Any) -> NewRecord:
    return NewRecord(batch=BATCH.feature_code, station_id="st-1", code_payload=f"KC1.payload-{uid}",
                     code_fields={"masked_name": "张*", "student_uid": uid}, student_uid=uid, id_last4="123X",
                     status_secret=f"secret-of-{uid}-0123456789", **extra)


def _claim(server: Any, record_id: str) -> dict[str, Any]:
    answer = requests.post(f"{server.base_url}/api/v1/review/{record_id}/claim",
                           headers={"Authorization": f"Bearer {server.admin_token}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_measurements_reach_the_reviewer_and_an_older_record_replays_unchanged(tmp_path: Path) -> None:
    config = ServerConfig(server=ServerSection(data_dir=tmp_path / "server",
                                               admin_token_file=tmp_path / "admin.token"))
    with embedded.EmbeddedServer(config) as server:
        server.add_batch(BATCH)
        token_file = tmp_path / "station.token"
        token_file.write_text(server.issue_station_token("st-1"))
        os.chmod(token_file, 0o600)
        settings = SyncSection(server_url=server.base_url, token_file=token_file, read_timeout_s=10)
        with Store.open(tmp_path / "station") as store:
            client = SyncClient(settings, store, "st-1")
            older = store.add_record(_record("U1"), jpeg_bytes(40, seed=1))
            # the older record reached the server before the station was upgraded (its ack was lost):
            # what that release sent is exactly the keys it knew
            sent_then = {k: v for k, v in older.metadata().items() if k in OLDER_KEYS}
            photo = older.photo_path.read_bytes()
            put = requests.put(f"{server.base_url}/api/v1/records/{older.id}",
                               files={"metadata": (None, json.dumps(sent_then, ensure_ascii=False), "application/json"),
                                      "photo": ("photo.jpg", photo, "image/jpeg")},
                               headers={"Authorization": f"Bearer {token_file.read_text()}",
                                        "Idempotency-Key": older.id}, timeout=10)
            assert put.status_code == 201, put.text
            measured = store.add_record(_record("U2", measurements=MEASUREMENTS), jpeg_bytes(40, seed=2))

            assert client.run_once().sent == 2
            for record_id in (older.id, measured.id):
                got = store.get(record_id)
                # the replay of the older record is the same upload: acknowledged, never a conflict
                assert got is not None and got.sync_state == "sent" and got.review_status == "queued", got

            detail = _claim(server, measured.id)
            assert detail["measurements"] == {k: (float(v) if type(v) is int else v)
                                              for k, v in MEASUREMENTS.items()}
            assert _claim(server, older.id)["measurements"] == {}
