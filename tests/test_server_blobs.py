"""The photo stores (files, database): one interface, retention by age without walking a folder."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_server_helpers import jpeg, metadata, put_headers, server_config, upload_parts

from kiosk.server.app import create_app
from kiosk.server.blobs import FileBlobStore, open_blob_store
from kiosk.server.db import Database
from kiosk.server.retention import sweep_orphans

ADMIN = "admin-token-for-the-tests"


@pytest.fixture
def db(server_database_url: str) -> Database:
    return Database(server_database_url)


def test_put_get_exists_delete_and_list_by_age(db: Database, tmp_path: Path, blob_store: str) -> None:
    store = open_blob_store(blob_store, db, tmp_path)
    photo = jpeg(1)
    sha = store.put(photo)
    assert sha == hashlib.sha256(photo).hexdigest()
    assert store.put(photo) == sha  # idempotent
    assert store.exists(sha) and store.get(sha) == photo
    assert store.older_than(time.time() + 1, 10) == [sha]
    assert store.older_than(time.time() - 3600, 10) == []
    assert store.delete(sha) and not store.delete(sha)
    assert not store.exists(sha) and store.get(sha) is None
    assert store.older_than(time.time() + 1, 10) == []
    db.close()


def test_the_sweep_removes_old_unnamed_photos_only(db: Database, tmp_path: Path, blob_store: str) -> None:
    store = open_blob_store(blob_store, db, tmp_path)
    old = [store.put(jpeg(i * 7)) for i in range(7)]
    assert len(set(old)) == 7
    later = datetime.now(UTC) + timedelta(days=2)
    assert sweep_orphans(db, store, later, 1, dry_run=True) == 7
    assert all(store.exists(sha) for sha in old)
    assert sweep_orphans(db, store, later, 1) == 7
    assert not any(store.exists(sha) for sha in old)
    young = store.put(jpeg(99))
    assert sweep_orphans(db, store, datetime.now(UTC), 1) == 0  # stored just now: kept
    assert store.exists(young)
    db.close()


def test_a_photo_folder_made_before_the_index_is_indexed_once(db: Database, tmp_path: Path) -> None:
    photo = jpeg(5)
    sha = hashlib.sha256(photo).hexdigest()
    legacy = tmp_path / "photos" / sha[:2] / f"{sha}.jpg"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(photo)
    os.utime(legacy, (1_000_000, 1_000_000))
    store = FileBlobStore(tmp_path / "photos", db)
    assert store.older_than(1_000_001, 10) == [sha]
    assert sweep_orphans(db, store, datetime.now(UTC), 1) == 1
    assert not legacy.exists()
    db.close()


def test_the_review_route_serves_the_photo_from_either_store(tmp_path: Path, server_database_url: str,
                                                             blob_store: str) -> None:
    app = create_app(server_config(tmp_path, database=server_database_url, blob_store=blob_store),
                     admin_token=ADMIN, purge_every_s=None)
    token = app.state.server.tokens.issue("station-01", datetime.now(UTC))
    photo = jpeg(3)
    meta = metadata(photo)
    with TestClient(app) as client:
        assert client.put(f"/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                          headers=put_headers(token, meta["record_id"])).status_code == 201
        answer = client.get(f"/api/v1/records/{meta['record_id']}/photo",
                            headers={"Authorization": f"Bearer {ADMIN}"})
    assert answer.status_code == 200 and answer.content == photo
    if blob_store == "database":
        assert not (tmp_path / "data" / "photos").exists()
    app.state.server.db.close()
