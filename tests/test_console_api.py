"""The console's JSON API, the stations' heartbeat and help calls, and the user command."""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from console_helpers import MEASUREMENTS, PASSWORD, STUDENTS, Clock
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from test_server_helpers import BATCH, IN_BATCH, jpeg, metadata, put_headers, server_config, upload_parts

from kiosk.cli import users as users_cli
from kiosk.server import tables
from kiosk.server.app import create_app

ADMIN = "admin-token-for-the-console-tests"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    app = create_app(server_config(tmp_path), admin_token=ADMIN, clock=clock, purge_every_s=None)
    state = app.state.server
    state.batches.put(BATCH, clock())
    for name, role in (("ann", "reviewer"), ("bob", "reviewer"), ("cai", "coordinator")):
        state.accounts.add(name, role, PASSWORD, clock())
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def station(client: TestClient, clock: Clock) -> dict[str, str]:
    token = client.app.state.server.tokens.issue("station-01", clock())  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {token}"}


ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN}"}


def upload(client: TestClient, station: dict[str, str], seed: int, student: dict[str, Any] | None = None) -> str:
    photo = jpeg(seed)
    # one student per seed: a second record of a student in review would be a duplicate, not queued
    code = {**(student or {**STUDENTS[seed % 3], "student_uid": f"u-{seed}"}), "format": "reference"}
    meta = metadata(photo, code=code, measurements=MEASUREMENTS, captured_at=IN_BATCH)
    token = station["Authorization"].split()[1]
    answer = client.put(f"/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                        headers=put_headers(token, meta["record_id"]))
    assert answer.status_code == 201, answer.text
    return str(meta["record_id"])


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign ``name`` in on ``client``'s cookie jar; the session's CSRF token."""
    client.get("/console/login")
    nonce = client.cookies.get("kiosk_login")
    answer = client.post("/console/login", data={"name": name, "password": password, "csrf_token": nonce},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    page = client.get("/console/review")
    found = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    return found


def test_claim_and_decide_with_the_admin_token_are_audited(client: TestClient, station: dict[str, str]) -> None:
    first, _ = upload(client, station, 1), upload(client, station, 2)
    claimed = client.post("/api/v1/review/claim", json={}, headers=ADMIN_AUTH)
    assert claimed.status_code == 200
    body = claimed.json()
    assert body["record"]["record_id"] == first
    assert body["record"]["identity"]["masked_name"] == "李*"
    assert body["record"]["measurements"]["eye_line_px"] == MEASUREMENTS["eye_line_px"]
    assert body["waiting"] == 1
    decided = client.post(f"/api/v1/review/{first}/decision", json={"action": "reject", "reason": "glare"},
                          headers=ADMIN_AUTH)
    assert decided.status_code == 200
    assert decided.json()["status"] == "rejected"
    assert "反光" in decided.json()["reason"]
    audit = client.app.state.server.records.audit(first)  # type: ignore[attr-defined]
    assert [(a.actor, a.action, a.reason_code) for a in audit] == [("admin", "reject", "glare")]


def test_the_legacy_review_call_is_audited_as_admin(client: TestClient, station: dict[str, str]) -> None:
    record = upload(client, station, 1)
    assert client.post(f"/api/v1/review/{record}", json={"action": "approve"}, headers=ADMIN_AUTH).status_code == 200
    audit = client.app.state.server.records.audit(record)  # type: ignore[attr-defined]
    assert [(a.actor, a.action) for a in audit] == [("admin", "approve")]


@pytest.mark.parametrize(("body", "field"), [
    ({"action": "reject"}, "reason"), ({"action": "reject", "reason": "other"}, "note"),
    ({"action": "approve", "reason": "blur"}, "reason"), ({"action": "reject", "reason": "sunglasses"}, "reason"),
    ({"action": "confirm"}, "action")])
def test_a_bad_decision_is_422_and_changes_nothing(client: TestClient, station: dict[str, str],
                                                   body: dict[str, Any], field: str) -> None:
    record = upload(client, station, 1)
    answer = client.post(f"/api/v1/review/{record}/decision", json=body, headers=ADMIN_AUTH)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert client.post("/api/v1/records/status", json={"ids": [record]},
                       headers=station).json()["records"][0]["status"] == "queued"


def test_session_calls_need_the_csrf_header_and_the_right_role(client: TestClient, station: dict[str, str]) -> None:
    record = upload(client, station, 1)
    csrf = sign_in(client, "ann")
    assert client.post(f"/api/v1/review/{record}/decision", json={"action": "approve"}).status_code == 403
    assert client.get("/api/v1/dashboard").status_code == 403  # a reviewer does not coordinate
    ok = client.post(f"/api/v1/review/{record}/decision", json={"action": "approve"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200, ok.text
    assert client.get(f"/api/v1/records/{record}/photo").status_code == 200  # a reviewer sees photos


def test_nobody_gets_401_and_a_station_403(client: TestClient, station: dict[str, str]) -> None:
    assert client.post("/api/v1/review/claim", json={}).status_code == 401
    assert client.post("/api/v1/review/claim", json={},
                       headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    assert client.post("/api/v1/review/claim", json={}, headers=station).status_code == 403
    assert client.get("/api/v1/dashboard", headers=station).status_code == 403


def test_two_claims_never_hold_the_same_record(client: TestClient, station: dict[str, str], clock: Clock) -> None:
    ids = [upload(client, station, i) for i in range(2)]
    desk = client.app.state.server.desk  # type: ignore[attr-defined]
    got = [desk.next(name, clock()).record.record_id for name in ("ann", "bob")]
    assert got == ids
    assert desk.next("carl", clock()).record is None
    # a claim times out: the record goes to the next reviewer who asks
    clock.advance(minutes=client.app.state.server.config.server.review_claim_minutes + 1)  # type: ignore[attr-defined]
    assert desk.next("carl", clock()).record.record_id == ids[0]


def test_reviewers_asking_at_the_same_moment_each_get_their_own_record(client: TestClient, station: dict[str, str],
                                                                       clock: Clock) -> None:
    ids = {upload(client, station, i) for i in range(6)}
    desk = client.app.state.server.desk  # type: ignore[attr-defined]
    start = threading.Barrier(6)

    def ask(name: str) -> str | None:
        start.wait()
        answer = desk.next(name, clock())
        return None if answer.record is None else answer.record.record_id

    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(ask, [f"reviewer{i}" for i in range(6)]))
    assert None not in got, got
    assert sorted(got) == sorted(ids)  # six reviewers, six different records, none left out


def test_heartbeats_and_help_requests(client: TestClient, station: dict[str, str], clock: Clock) -> None:
    sent = clock().isoformat()
    beat = client.post("/api/v1/stations/heartbeat", json={"version": "0.1.0", "queue_length": 2, "sent_at": sent},
                       headers=station)
    assert beat.status_code == 200
    assert beat.json()["station_id"] == "station-01"
    request_id = str(uuid.uuid4())
    ask = {"reason": "lockout", "raised_at": sent, "acknowledged_at": None}
    assert client.put(f"/api/v1/help/{request_id}", json=ask, headers=station).status_code == 201
    assert client.put(f"/api/v1/help/{request_id}", json=ask, headers=station).status_code == 200
    assert client.put(f"/api/v1/help/{request_id}", json={**ask, "reason": "other"},
                      headers=station).status_code == 422
    board = client.get("/api/v1/dashboard", headers=ADMIN_AUTH).json()
    assert board["stations"][0]["queue_length"] == 2
    assert [h["reason"] for h in board["help"]] == ["lockout"]
    acked = client.put(f"/api/v1/help/{request_id}", json={**ask, "acknowledged_at": sent}, headers=station)
    assert acked.status_code == 200
    assert client.get("/api/v1/dashboard", headers=ADMIN_AUTH).json()["help"] == []
    # the admin token is not a station
    assert client.post("/api/v1/stations/heartbeat", json={"version": "1", "queue_length": 0, "sent_at": sent},
                       headers=ADMIN_AUTH).status_code == 403


@pytest.mark.parametrize("body", [{"version": "", "queue_length": 0, "sent_at": "2026-06-01T09:00:00+08:00"},
                                  {"version": "1", "queue_length": -1, "sent_at": "2026-06-01T09:00:00+08:00"},
                                  {"version": "1", "queue_length": 0, "sent_at": "2026-06-01T09:00:00"}])
def test_a_bad_heartbeat_is_422(client: TestClient, station: dict[str, str], body: dict[str, Any]) -> None:
    answer = client.post("/api/v1/stations/heartbeat", json=body, headers=station)
    assert answer.status_code == 422
    assert client.get("/api/v1/dashboard", headers=ADMIN_AUTH).json()["stations"] == []


def test_dashboard_counts_by_state(client: TestClient, station: dict[str, str], clock: Clock) -> None:
    ids = [upload(client, station, i) for i in range(3)]
    client.post(f"/api/v1/review/{ids[0]}/decision", json={"action": "approve"}, headers=ADMIN_AUTH)
    board = client.get(f"/api/v1/dashboard?batch={BATCH.feature_code.lower()}", headers=ADMIN_AUTH).json()
    assert board["batch"] == BATCH.feature_code
    assert board["counts"]["queued"] == 2 and board["counts"]["approved"] == 1
    # the hours before the first record are not listed
    assert [(h["received"], h["decided"]) for h in board["throughput"]] == [(3, 1)]
    clock.advance(hours=2)
    later = client.get("/api/v1/dashboard", headers=ADMIN_AUTH).json()
    assert [(h["received"], h["decided"]) for h in later["throughput"]] == [(0, 0), (0, 0), (3, 1)]


def test_the_user_command_reads_the_password_from_stdin(tmp_path: Path, clock: Clock) -> None:
    app = create_app(server_config(tmp_path), admin_token=ADMIN, clock=clock, purge_every_s=None)
    accounts = app.state.server.accounts

    class Args:
        user_op, name, role = "add", "dan", "coordinator"

    assert users_cli.run(accounts, Args(), clock(), io.StringIO(PASSWORD + "\n")) == 0  # type: ignore[arg-type]
    assert users_cli.run(accounts, Args(), clock(), io.StringIO(PASSWORD + "\n")) == 2  # type: ignore[arg-type]
    Args.name = "eve"
    assert users_cli.run(accounts, Args(), clock(), io.StringIO("short\n")) == 2  # type: ignore[arg-type]
    Args.user_op, Args.name = "disable", "dan"
    assert users_cli.run(accounts, Args(), clock()) == 0  # type: ignore[arg-type]
    assert users_cli.run(accounts, Args(), clock()) == 1  # type: ignore[arg-type]
    assert [(u.name, on) for u, on in accounts.list()] == [("dan", False)]


def test_the_purge_forgets_ended_sessions_and_expired_claims(client: TestClient, station: dict[str, str],
                                                             clock: Clock) -> None:
    upload(client, station, 1)
    state = client.app.state.server  # type: ignore[attr-defined]
    sign_in(client, "ann")  # the review page holds the record for ann
    assert state.accounts.count_live_sessions() == 1
    clock.advance(hours=state.config.server.console_max_hours + 1)
    state.purge()
    assert state.accounts.count_live_sessions() == 0
    with state.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(tables.review_claims)).scalar_one() == 0


def test_kiosk_server_user_add_disable_list_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from kiosk.cli import main

    cfg = tmp_path / "server.toml"
    cfg.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\nadmin_token_file = "{tmp_path / "admin.token"}"\n')
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["server", "--config", str(cfg), "user", "add", "wang", "--role", "reviewer"]) == 0
    assert main(["server", "--config", str(cfg), "user", "list"]) == 0
    assert "wang\treviewer\tenabled" in capsys.readouterr().out
    assert main(["server", "--config", str(cfg), "user", "disable", "wang"]) == 0
    assert main(["server", "--config", str(cfg), "user", "disable", "nobody"]) == 1
    with pytest.raises(SystemExit):  # a role that does not exist is refused by the parser
        main(["server", "--config", str(cfg), "user", "add", "li", "--role", "boss"])
    # the password never comes from the command line
    with pytest.raises(SystemExit):
        main(["server", "--config", str(cfg), "user", "add", "li", "--role", "reviewer", "--password", "x"])
