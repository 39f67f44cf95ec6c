"""Tokens, the admin token file, batches and review: who may call, and queue positions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from test_server_helpers import BATCH, assert_problem, jpeg, metadata, put_headers, server_config, upload_parts

from kiosk.server.app import create_app
from kiosk.server.auth import AdminTokenError, create_admin_token_file, hash_token, read_admin_token
from kiosk.server.batches import BatchFileError, load_batches_file

ADMIN = "admin-token-for-the-tests"
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
def app(tmp_path: Path, server_database_url: str) -> FastAPI:
    return create_app(server_config(tmp_path, database=server_database_url), admin_token=ADMIN, purge_every_s=None)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def issue(client: TestClient, station: str, **extra: Any) -> str:
    answer = client.post("/api/v1/tokens", json={"station_id": station, **extra}, headers=AS_ADMIN)
    assert answer.status_code == 201
    assert answer.json()["station_id"] == station
    return str(answer.json()["token"])


def upload(client: TestClient, token: str, seed: int) -> str:
    photo = jpeg(seed)
    meta = metadata(photo)
    answer = client.put(f"/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                        headers=put_headers(token, meta["record_id"]))
    assert answer.status_code == 201
    return str(meta["record_id"])


def status(client: TestClient, token: str, ids: list[str]) -> list[dict[str, Any]]:
    answer = client.post("/api/v1/records/status", json={"ids": ids}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    return list(answer.json()["records"])


def test_station_tokens_are_stored_hashed_and_revocation_gives_401(client: TestClient, app: FastAPI) -> None:
    token = issue(client, "station-07")
    auth = {"Authorization": f"Bearer {token}"}
    with app.state.server.db.read() as conn:
        stored = conn.execute(text("SELECT token_sha256 FROM tokens WHERE station_id='station-07'")).scalar_one()
    assert stored == hash_token(token)
    if app.state.server.db.path is not None:  # SQLite: not in the file either
        assert token not in app.state.server.db.path.read_bytes().decode("latin-1")
    assert client.post("/api/v1/records/status", json={"ids": []}, headers=auth).status_code == 200
    revoked = client.delete("/api/v1/tokens/station-07", headers=AS_ADMIN)
    assert revoked.json() == {"station_id": "station-07", "revoked": True}
    assert_problem(client.post("/api/v1/records/status", json={"ids": []}, headers=auth), 401, "unauthorized")
    assert_problem(client.delete("/api/v1/tokens/never-issued", headers=AS_ADMIN), 404, "unknown-station")


def test_rotating_replaces_the_old_token(client: TestClient) -> None:
    old = issue(client, "station-02")
    new = issue(client, "station-02", rotate=True)
    assert old != new
    assert_problem(client.post("/api/v1/records/status", json={"ids": []},
                               headers={"Authorization": f"Bearer {old}"}), 401)
    assert client.post("/api/v1/records/status", json={"ids": []},
                       headers={"Authorization": f"Bearer {new}"}).status_code == 200


def test_a_live_station_id_is_refused_unless_rotated(client: TestClient) -> None:
    # two campuses both calling their first station "station-01": the second issue must not revoke the first
    first = issue(client, "station-01")
    assert_problem(client.post("/api/v1/tokens", json={"station_id": "station-01"}, headers=AS_ADMIN),
                   409, "station-active")
    assert client.post("/api/v1/records/status", json={"ids": []},
                       headers={"Authorization": f"Bearer {first}"}).status_code == 200
    issue(client, "campus-b.station-01")  # named within its campus: no clash
    assert client.delete("/api/v1/tokens/station-01", headers=AS_ADMIN).status_code == 200
    issue(client, "station-01")  # a revoked id may be issued again without rotate


def test_missing_or_wrong_tokens_and_station_tokens_on_admin_calls(client: TestClient) -> None:
    token = issue(client, "station-01")
    assert_problem(client.get(f"/api/v1/batches/{BATCH.feature_code}"), 401)
    answer = client.get(f"/api/v1/batches/{BATCH.feature_code}", headers={"Authorization": "Bearer nope"})
    assert_problem(answer, 401)
    assert answer.headers["www-authenticate"] == "Bearer"
    assert_problem(client.get("/api/v1/review/queue", headers={"Authorization": f"Bearer {token}"}), 403)
    assert_problem(client.post("/api/v1/tokens", json={"station_id": "x"},
                               headers={"Authorization": f"Bearer {token}"}), 403)
    assert_problem(client.post("/api/v1/tokens", json={"station_id": "bad id!"}, headers=AS_ADMIN), 422)


def test_admin_token_file_must_be_0600(tmp_path: Path) -> None:
    path = tmp_path / "admin.token"
    with pytest.raises(AdminTokenError) as missing:
        read_admin_token(path)
    assert missing.value.key == "server.admin_token_missing"
    token = create_admin_token_file(path)
    assert read_admin_token(path) == token
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(AdminTokenError):
        create_admin_token_file(path)
    path.chmod(0o640)
    with pytest.raises(AdminTokenError) as loose:
        create_app(server_config(tmp_path), purge_every_s=None)
    assert loose.value.key == "server.admin_token_mode"
    assert "chmod 600" in loose.value.message("en")
    path.chmod(0o600)
    app = create_app(server_config(tmp_path), purge_every_s=None)
    with TestClient(app) as client:
        assert client.get("/api/v1/review/queue", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_batches_are_created_replaced_and_read_by_feature_code(client: TestClient) -> None:
    token = issue(client, "station-01")
    body = {**BATCH.to_json(), "feature_code": "1s95kt"}
    assert client.post("/api/v1/batches", json=body, headers=AS_ADMIN).status_code == 201
    replaced = client.post("/api/v1/batches", json={**body, "fee_required": True, "fee_note": "20 元"},
                           headers=AS_ADMIN)
    assert replaced.status_code == 200
    got = client.get("/api/v1/batches/1S95kt", headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 200
    assert got.json() == {**BATCH.to_json(), "fee_required": True, "fee_note": "20 元"}
    assert_problem(client.get("/api/v1/batches/ZZZZ99", headers={"Authorization": f"Bearer {token}"}), 404,
                   "unknown-batch")
    assert_problem(client.post("/api/v1/batches", json={**body, "feature_code": "x"}, headers=AS_ADMIN), 422)
    assert_problem(client.post("/api/v1/batches", json={**body, "methods": ["drone"]}, headers=AS_ADMIN), 422)
    assert_problem(client.post("/api/v1/batches", json={**body, "start_date": "June 1st"}, headers=AS_ADMIN), 422)
    assert_problem(client.post("/api/v1/batches", json={**body, "end_date": "2026-05-01"}, headers=AS_ADMIN), 422)


def test_batches_file_is_loaded_at_start_and_checked(tmp_path: Path) -> None:
    good = tmp_path / "batches.toml"
    good.write_text('[[batch]]\nfeature_code = "ab12"\nschool_code = "10001"\nschool_name = "示例大学"\n'
                    'start_date = "2026-06-01"\nend_date = "2026-06-03"\nmethods = ["code"]\n', "utf-8")
    app = create_app(server_config(tmp_path, batches_file=str(good)), admin_token=ADMIN, purge_every_s=None)
    batch = app.state.server.batches.get("AB12")
    assert batch is not None
    assert batch.methods == ["code"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[[batch]]\nfeature_code = "ab12"\nschool = "typo"\n', "utf-8")
    with pytest.raises(BatchFileError) as err:
        load_batches_file(bad)
    assert err.value.params["entry"] == "1"


def test_review_gives_queue_positions_and_reasons(client: TestClient) -> None:
    token = issue(client, "station-01")
    ids = [upload(client, token, seed) for seed in range(4)]
    queue = client.get("/api/v1/review/queue", headers=AS_ADMIN).json()
    assert queue["total"] == 4
    assert [r["record_id"] for r in queue["records"]] == ids
    assert [r["queue_position"] for r in queue["records"]] == [1, 2, 3, 4]

    approve = client.post(f"/api/v1/review/{ids[0]}", json={"action": "approve"}, headers=AS_ADMIN)
    assert approve.json() == {"record_id": ids[0], "status": "approved", "reason": None}
    assert_problem(client.post(f"/api/v1/review/{ids[1]}", json={"action": "reject"}, headers=AS_ADMIN), 422)
    reject = client.post(f"/api/v1/review/{ids[1]}", json={"action": "reject", "reason": "眼睛闭合，请重拍"},
                         headers=AS_ADMIN)
    assert reject.json()["status"] == "rejected"

    got = status(client, token, ids)
    assert [(r["status"], r["queue_position"]) for r in got] == [
        ("approved", None), ("rejected", None), ("queued", 1), ("queued", 2)]
    assert got[1]["reason"] == "眼睛闭合，请重拍"

    # Repeating a decision is a no-op; going back is a conflict; confirming follows approval.
    assert client.post(f"/api/v1/review/{ids[0]}", json={"action": "approve"}, headers=AS_ADMIN).status_code == 200
    assert_problem(client.post(f"/api/v1/review/{ids[1]}", json={"action": "approve"}, headers=AS_ADMIN), 409,
                   "review-conflict")
    assert_problem(client.post(f"/api/v1/review/{ids[2]}", json={"action": "confirm"}, headers=AS_ADMIN), 409)
    confirm = client.post(f"/api/v1/review/{ids[0]}", json={"action": "confirm"}, headers=AS_ADMIN)
    assert confirm.json()["status"] == "confirmed"
    unknown = metadata(jpeg(99))["record_id"]
    assert_problem(client.post(f"/api/v1/review/{unknown}", json={"action": "approve"}, headers=AS_ADMIN), 404)
    page = client.get("/api/v1/review/queue?limit=1&offset=1", headers=AS_ADMIN).json()
    assert [(r["record_id"], r["queue_position"]) for r in page["records"]] == [(ids[3], 2)]


def test_a_reviewer_can_fetch_the_photo(client: TestClient) -> None:
    token = issue(client, "station-01")
    record_id = upload(client, token, 5)
    answer = client.get(f"/api/v1/records/{record_id}/photo", headers=AS_ADMIN)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/jpeg"
    assert answer.content == jpeg(5)
    assert_problem(client.get(f"/api/v1/records/{record_id}/photo", headers={"Authorization": f"Bearer {token}"}),
                   403)


def test_health_and_openapi_are_public(client: TestClient) -> None:
    health = client.get("/api/v1/health").json()
    assert health["status"] == "ok"
    assert datetime.fromisoformat(health["time"]).tzinfo is not None
    spec = client.get("/openapi.json").json()
    assert {"/api/v1/records/{record_id}", "/api/v1/bind", "/api/v1/records/status", "/api/v1/review/queue",
            "/api/v1/tokens", "/api/v1/tokens/{station_id}", "/api/v1/batches",
            "/api/v1/batches/{feature_code}"} <= set(spec["paths"])


def test_review_queue_narrowed_to_one_batch_keeps_the_whole_queue_positions(client: TestClient) -> None:
    token = issue(client, "station-01")
    first = upload(client, token, 1)
    photo = jpeg(2)
    other = metadata(photo, batch="AB12")
    assert client.put(f"/api/v1/records/{other['record_id']}", files=upload_parts(other, photo),
                      headers=put_headers(token, other["record_id"])).status_code == 201
    only = client.get("/api/v1/review/queue?batch=ab12", headers=AS_ADMIN).json()
    assert only["total"] == 1
    assert [(r["record_id"], r["queue_position"]) for r in only["records"]] == [(other["record_id"], 2)]
    assert client.get("/api/v1/review/queue", headers=AS_ADMIN).json()["records"][0]["record_id"] == first
