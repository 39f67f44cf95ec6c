"""Retention: records and photos go one year after capture, on schedule and on command."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from test_server_helpers import jpeg, metadata, put_headers, server_config, upload_parts

from kiosk.cli import main
from kiosk.server.app import create_app
from kiosk.server.state import ServerState

ADMIN = "admin-token-for-the-tests"
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def upload(client: TestClient, token: str, photo: bytes, captured_at: datetime) -> str:
    meta = metadata(photo, captured_at=captured_at)
    answer = client.put(f"/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                        headers=put_headers(token, meta["record_id"]))
    assert answer.status_code == 201
    return str(meta["record_id"])


def ids_left(state: ServerState) -> set[str]:
    with state.db.read() as conn:
        return {row[0] for row in conn.execute(text("SELECT record_id FROM records"))}


def test_purge_deletes_records_and_photos_one_year_after_capture(tmp_path: Path, server_database_url: str,
                                                                  blob_store: str) -> None:
    clock = Clock(T0)
    app = create_app(server_config(tmp_path, database=server_database_url, blob_store=blob_store),
                     admin_token=ADMIN, purge_every_s=None, clock=clock)
    state: ServerState = app.state.server
    token = state.tokens.issue("station-01", T0)
    old_photo, shared_photo, new_photo = jpeg(1), jpeg(2), jpeg(3)
    with TestClient(app) as client:
        old = upload(client, token, old_photo, T0)
        shared_old = upload(client, token, shared_photo, T0)
        clock.now = T0 + timedelta(days=10)  # a record is not captured ahead of the server's clock
        shared_new = upload(client, token, shared_photo, T0 + timedelta(days=10))
        new = upload(client, token, new_photo, T0 + timedelta(days=10))

    clock.now = T0 + timedelta(days=365) - timedelta(seconds=1)
    assert state.purge().records == 0

    clock.now = T0 + timedelta(days=365)
    dry = state.purge(dry_run=True)
    assert (dry.records, dry.photos) == (2, 1)
    assert ids_left(state) == {old, shared_old, shared_new, new}

    report = state.purge()
    assert set(report.record_ids) == {old, shared_old}
    assert ids_left(state) == {shared_new, new}
    assert not state.photos.exists(metadata(old_photo)["photo_sha256"])
    # a photo shared with a younger record stays until that record goes too
    assert state.photos.get(metadata(shared_photo)["photo_sha256"]) == shared_photo

    clock.now = T0 + timedelta(days=375)
    assert state.purge().records == 2
    assert ids_left(state) == set()
    assert state.photos.older_than(float("inf"), 10) == []
    if blob_store == "files":
        assert list((tmp_path / "data" / "photos").glob("*/*.jpg")) == []


def test_the_running_server_purges_on_its_own(tmp_path: Path, server_database_url: str) -> None:
    clock = Clock(T0)
    app = create_app(server_config(tmp_path, database=server_database_url), admin_token=ADMIN, purge_every_s=0.02,
                     clock=clock)
    state: ServerState = app.state.server
    token = state.tokens.issue("station-01", T0)
    with TestClient(app) as client:
        record = upload(client, token, jpeg(1), T0)
        assert ids_left(state) == {record}
        clock.now = T0 + timedelta(days=366)
        deadline = time.monotonic() + 5
        while ids_left(state) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ids_left(state) == set()


def test_purge_command_with_dry_run(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    server_database_url: str, blob_store: str) -> None:
    config_file = tmp_path / "server.toml"
    config_file.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\n'
                           f'admin_token_file = "{tmp_path / "admin.token"}"\n'
                           f'database = "{server_database_url}"\nblob_store = "{blob_store}"\n', "utf-8")
    long_ago = datetime.now(UTC) - timedelta(days=400)
    app = create_app(server_config(tmp_path, database=server_database_url, blob_store=blob_store),
                     admin_token=ADMIN, purge_every_s=None)
    state: ServerState = app.state.server
    token = state.tokens.issue("station-01", long_ago)
    with TestClient(app) as client:
        upload(client, token, jpeg(1), long_ago)
        recent = upload(client, token, jpeg(2), datetime.now(UTC))
    state.db.close()
    assert main(["server", "purge", "--config", str(config_file), "--dry-run"]) == 0
    assert "would delete: 1 records, 1 photos" in capsys.readouterr().out
    assert main(["server", "--config", str(config_file), "purge"]) == 0
    assert "deleted: 1 records, 1 photos" in capsys.readouterr().out
    reopened = create_app(server_config(tmp_path, database=server_database_url, blob_store=blob_store),
                          admin_token=ADMIN,
                          purge_every_s=None).state.server
    assert ids_left(reopened) == {recent}
