"""The embedded server: starts on a free loopback port, serves, stops."""

from __future__ import annotations

import socket
import threading
from dataclasses import replace
from pathlib import Path

import requests
from sqlalchemy import text
from test_server_helpers import BATCH, jpeg, metadata, put_headers, server_config, upload_parts

from kiosk.server.embedded import EmbeddedServer


def test_embedded_server_serves_records_and_stops(tmp_path: Path) -> None:
    server = EmbeddedServer(server_config(tmp_path))
    base = server.start()
    try:
        assert base.startswith("http://127.0.0.1:")
        # a TCP socket by protocol, so asyncio turns Nagle off on its connections
        assert server._sock is not None
        assert server._sock.proto == socket.IPPROTO_TCP
        assert requests.get(f"{base}/api/v1/health", timeout=5).json()["status"] == "ok"
        token = server.issue_station_token("station-01")
        server.add_batch(BATCH)
        auth = {"Authorization": f"Bearer {token}"}
        got = requests.get(f"{base}/api/v1/batches/{BATCH.feature_code}", headers=auth, timeout=5)
        assert got.status_code == 200
        assert got.json()["school_name"] == BATCH.school_name
        photo = jpeg()
        meta = metadata(photo)
        put = requests.put(f"{base}/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                           headers=put_headers(token, meta["record_id"]), timeout=5)
        assert put.status_code == 201
        assert put.json()["photo_sha256"] == meta["photo_sha256"]
        admin = requests.get(f"{base}/api/v1/review/queue",
                             headers={"Authorization": f"Bearer {server.admin_token}"}, timeout=5)
        assert admin.json()["total"] == 1
    finally:
        server.stop()
    try:
        requests.get(f"{base}/api/v1/health", timeout=1)
        raise AssertionError("still serving after stop()")
    except requests.ConnectionError:
        pass


def test_embedded_server_as_context_manager_reads_the_admin_token_file(tmp_path: Path) -> None:
    token_file = tmp_path / "admin.token"
    token_file.write_text("a-long-enough-admin-token\n")
    token_file.chmod(0o600)
    with EmbeddedServer(server_config(tmp_path)) as server:
        assert server.admin_token == "a-long-enough-admin-token"
        assert requests.get(f"{server.base_url}/api/v1/health", timeout=5).ok


def test_racing_identical_uploads_over_http_store_one_record(tmp_path: Path) -> None:
    with EmbeddedServer(server_config(tmp_path)) as server:
        token = server.issue_station_token("station-01")
        photo = jpeg(8)
        meta = metadata(photo)
        barrier = threading.Barrier(4)
        codes: list[int] = []

        def send() -> None:
            barrier.wait(5)
            answer = requests.put(f"{server.base_url}/api/v1/records/{meta['record_id']}",
                                  files=upload_parts(meta, photo), headers=put_headers(token, meta["record_id"]),
                                  timeout=10)
            codes.append(answer.status_code)

        threads = [threading.Thread(target=send) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert codes.count(201) == 1
        assert set(codes) <= {201, 200, 409}
        with server.state.db.read() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM records")).scalar_one() == 1


def test_a_batch_added_in_process_is_served_as_stored(tmp_path: Path) -> None:
    odd = replace(BATCH, feature_code="ODD1", start_date="from June", fee_note="x" * 600)
    with EmbeddedServer(server_config(tmp_path)) as server:
        server.add_batch(odd)
        token = server.issue_station_token("station-01")
        got = requests.get(f"{server.base_url}/api/v1/batches/odd1", headers={"Authorization": f"Bearer {token}"},
                           timeout=5)
    assert got.status_code == 200
    assert got.json() == odd.to_json()
