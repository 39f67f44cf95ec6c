"""Invariants the database holds for every server process: whose records a station sees, one student in
review per batch, queue order and positions. Run on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from test_server_helpers import assert_problem, jpeg, metadata, put_headers, server_config, upload_parts

from kiosk.server.app import create_app

ADMIN = "admin-token-for-the-invariants"


@pytest.fixture
def app(tmp_path: Path, server_database_url: str) -> FastAPI:
    return create_app(server_config(tmp_path, database=server_database_url), admin_token=ADMIN, purge_every_s=None)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def issue(app: FastAPI, station: str) -> str:
    return str(app.state.server.tokens.issue(station, datetime.now(UTC)))


def put(client: TestClient, token: str, seed: int, meta: dict[str, Any] | None = None, **meta_extra: Any) -> Any:
    photo = jpeg(seed)
    meta = meta or metadata(photo, **meta_extra)
    return client.put(f"/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                      headers=put_headers(token, meta["record_id"]))


def status(client: TestClient, token: str, *ids: str) -> list[dict[str, Any]]:
    answer = client.post("/api/v1/records/status", json={"ids": list(ids)},
                         headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["records"])


def test_the_station_id_comes_from_the_token_and_a_station_sees_only_its_own_records(
        app: FastAPI, client: TestClient) -> None:
    one, two = issue(app, "station-01"), issue(app, "station-02")
    claimed = put(client, two, 1, station_id="station-01")  # station-02 claims to be station-01
    assert claimed.status_code == 201
    record_id = claimed.json()["record_id"]
    with app.state.server.db.read() as conn:
        stored = conn.execute(text("SELECT station_id, uploaded_by FROM records")).one()
    assert tuple(stored) == ("station-02", "station-02")
    assert status(client, one, record_id)[0]["status"] == "unknown"  # not station-01's to read
    assert status(client, two, record_id)[0]["status"] == "queued"
    assert status(client, ADMIN, record_id)[0]["status"] == "queued"  # staff see every record


def test_a_second_photo_of_a_student_in_review_is_kept_as_a_duplicate(app: FastAPI, client: TestClient) -> None:
    token = issue(app, "station-01")
    first = put(client, token, 1, code={"student_uid": "u-1"})
    second_meta = metadata(jpeg(2), code={"student_uid": "u-1"})
    second = put(client, token, 2, second_meta)  # the same student at another station, say
    other_day = put(client, token, 3, code={"student_uid": "u-1"}, batch="2S95KT")
    assert (first.status_code, first.json()["status"], first.json()["queue_position"]) == (201, "queued", 1)
    assert (second.status_code, second.json()["status"], second.json()["queue_position"]) == (201, "duplicate", None)
    assert other_day.json()["status"] == "queued"  # one photo in review per batch, not per server
    again = put(client, token, 2, second_meta)
    assert (again.status_code, again.json()) == (200, second.json())  # a replay is acknowledged, not refused
    # once the first is rejected, the student may be photographed again
    assert client.post(f"/api/v1/review/{first.json()['record_id']}", json={"action": "reject", "reason": "blurred"},
                       headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 200
    assert put(client, token, 4, code={"student_uid": "u-1"}).json()["status"] == "queued"
    with app.state.server.db.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM records")).scalar_one() == 4


def test_the_database_refuses_a_second_student_record_in_review(app: FastAPI, client: TestClient) -> None:
    token = issue(app, "station-01")
    put(client, token, 1, code={"student_uid": "u-9"})
    put(client, token, 2, code={"student_uid": "u-9"})
    with pytest.raises(IntegrityError), app.state.server.db.write() as conn:
        conn.execute(text("UPDATE records SET status='queued' WHERE status='duplicate'"))


def test_queue_positions_of_many_records_in_one_call(app: FastAPI, client: TestClient) -> None:
    token = issue(app, "station-01")
    ids = [put(client, token, i).json()["record_id"] for i in range(6)]
    client.post(f"/api/v1/review/{ids[1]}", json={"action": "approve"}, headers={"Authorization": f"Bearer {ADMIN}"})
    answer = status(client, token, *reversed(ids), "00000000-0000-4000-8000-000000000000")
    assert [r["queue_position"] for r in answer] == [5, 4, 3, 2, None, 1, None]
    assert [r["status"] for r in answer][-3:] == ["approved", "queued", "unknown"]


def test_queue_numbers_only_grow(app: FastAPI, client: TestClient) -> None:
    token = issue(app, "station-01")
    ids = [put(client, token, i).json()["record_id"] for i in range(3)]
    with app.state.server.db.read() as conn:
        seqs = [s for (s,) in conn.execute(text("SELECT queue_seq FROM records ORDER BY received_at, queue_seq"))]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    queue = client.get("/api/v1/review/queue", headers={"Authorization": f"Bearer {ADMIN}"}).json()
    assert [r["record_id"] for r in queue["records"]] == ids


def test_an_unknown_review_target_is_404(client: TestClient) -> None:
    assert_problem(client.post("/api/v1/review/00000000-0000-4000-8000-000000000000", json={"action": "approve"},
                               headers={"Authorization": f"Bearer {ADMIN}"}), 404, "unknown-record")
