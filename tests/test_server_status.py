"""The stations' status poll: the same answers as the schema describes, its token checked on its own
thread, and answered while every route thread is busy with uploads. Run on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from test_server_helpers import assert_problem, jpeg, metadata, put_headers, server_config, upload_parts

from kiosk.server.app import create_app
from kiosk.server.db import ROUTE_THREADS
from kiosk.server.schema import StatusResponse

ADMIN = "admin-token-for-the-status-poll"


def put(client: TestClient, token: str, seed: int) -> Any:
    photo = jpeg(seed)
    meta = metadata(photo)
    return client.put(f"/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                      headers=put_headers(token, meta["record_id"]))


def poll(client: TestClient, token: str, ids: list[str]) -> Any:
    return client.post("/api/v1/records/status", json={"ids": ids}, headers={"Authorization": f"Bearer {token}"})


def test_statuses_places_reasons_and_whose_records_a_station_sees(tmp_path: Path, server_database_url: str) -> None:
    app = create_app(server_config(tmp_path, database=server_database_url), admin_token=ADMIN, purge_every_s=None)
    mine = app.state.server.tokens.issue("campus-a.station-01", datetime.now(UTC))
    theirs = app.state.server.tokens.issue("campus-b.station-01", datetime.now(UTC))
    admin = {"Authorization": f"Bearer {ADMIN}"}
    with TestClient(app) as client:
        ids = [put(client, mine, seed).json()["record_id"] for seed in range(4)]
        other = put(client, theirs, 9).json()["record_id"]
        client.post(f"/api/v1/review/{ids[0]}", json={"action": "approve"}, headers=admin)
        client.post(f"/api/v1/review/{ids[2]}", json={"action": "reject", "reason": "背景不是纯色"}, headers=admin)
        asked = [*reversed(ids), other, "never-sent", ids[1]]
        answer = poll(client, mine, asked)
        as_admin = poll(client, ADMIN, asked)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    records = answer.json()["records"]
    assert StatusResponse.model_validate(answer.json()).model_dump(mode="json") == answer.json()
    assert [list(r) for r in records] == [["record_id", "status", "queue_position", "reason"]] * len(asked)
    assert [r["record_id"] for r in records] == asked
    assert [(r["status"], r["queue_position"], r["reason"]) for r in records] == [
        ("queued", 2, None), ("rejected", None, "背景不是纯色"), ("queued", 1, None), ("approved", None, None),
        ("unknown", None, None), ("unknown", None, None), ("queued", 1, None)]
    # the admin token sees every station's records; the places count the whole queue
    assert [(r["status"], r["queue_position"]) for r in as_admin.json()["records"]][3:5] == [
        ("approved", None), ("queued", 3)]
    assert "背景不是纯色" in answer.text  # as the schema's JSON writes it, not escaped


def test_a_poll_without_a_valid_token_is_refused(tmp_path: Path, server_database_url: str) -> None:
    app = create_app(server_config(tmp_path, database=server_database_url), admin_token=ADMIN, purge_every_s=None)
    token = app.state.server.tokens.issue("station-01", datetime.now(UTC))
    with TestClient(app) as client:
        assert poll(client, token, []).json() == {"records": []}
        assert_problem(poll(client, "not-a-token", ["x"]), 401, "unauthorized")
        assert_problem(client.post("/api/v1/records/status", json={"ids": ["x"]}), 401, "unauthorized")
        app.state.server.tokens.revoke("station-01", datetime.now(UTC))
        assert_problem(poll(client, token, ["x"]), 401, "unauthorized")


def test_a_poll_is_answered_while_every_route_thread_holds_an_upload(tmp_path: Path,
                                                                    server_database_url: str) -> None:
    held, release = threading.Semaphore(0), threading.Event()

    def hold(record_id: str) -> None:
        held.release()
        assert release.wait(30)

    app = create_app(server_config(tmp_path, database=server_database_url), admin_token=ADMIN, purge_every_s=None,
                     on_record_received=hold)
    token = app.state.server.tokens.issue("station-01", datetime.now(UTC))
    answers: list[Any] = []
    with TestClient(app) as client:
        uploads = [threading.Thread(target=lambda seed=seed: answers.append(put(client, token, seed)))
                   for seed in range(ROUTE_THREADS)]
        for upload in uploads:
            upload.start()
        try:
            for _ in uploads:  # every route thread is now inside an upload, waiting
                assert held.acquire(timeout=30)
            polled = poll(client, token, ["not-yet-stored"])
        finally:
            release.set()
            for upload in uploads:
                upload.join(30)
    assert polled.json() == {"records": [{"record_id": "not-yet-stored", "status": "unknown",
                                          "queue_position": None, "reason": None}]}
    assert sorted(a.status_code for a in answers) == [201] * ROUTE_THREADS
