"""Binding a collection code to a codeless record by its claim ticket, from a station or a phone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from test_server_helpers import BATCH, assert_problem, jpeg, metadata, put_headers, server_config, upload_parts

from kiosk.cli import main
from kiosk.config import CodesSection, ServerConfig
from kiosk.server.app import create_app

codes = pytest.importorskip("kiosk.codes")
tickets = pytest.importorskip("kiosk.tickets")

ADMIN = "admin-token-for-the-tests"


@dataclass
class Clock:
    """A clock the test moves."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    client: TestClient
    app: FastAPI
    clock: Clock
    station: dict[str, str]
    students: list[Any]
    stranger: Any  # a student of another school


@pytest.fixture
def world(tmp_path: Path, server_database_url: str) -> Iterator[World]:
    key_file = tmp_path / "code-keys.json"
    ring = codes.KeyRing.generate(key_file)
    base = server_config(tmp_path, bind_max_misses=5, bind_lock_minutes=15.0, bind_client_max_misses=12,
                         bind_station_max_misses=6, database=server_database_url)
    config = ServerConfig(server=base.server, codes=CodesSection(key_file=key_file))
    clock = Clock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    app = create_app(config, admin_token=ADMIN, purge_every_s=None, clock=clock)
    app.state.server.batches.put(BATCH, clock.now)
    token = app.state.server.tokens.issue("station-01", clock.now)
    students = codes.demo_codes(ring, BATCH, 3, now=clock.now - timedelta(days=1))
    other_school = replace(BATCH, feature_code="OTHER1", school_code="99999", school_name="别的大学")
    stranger = codes.demo_codes(ring, other_school, 1, now=clock.now - timedelta(days=1))[0]
    with TestClient(app) as client:
        yield World(client, app, clock, {"Authorization": f"Bearer {token}"}, students, stranger)


def codeless_record(w: World, seed: int = 0) -> tuple[str, str]:
    """Upload a codeless record; its id and ticket."""
    ticket = tickets.new_ticket()
    photo = jpeg(seed)
    meta = metadata(photo, codeless=True, ticket=ticket, captured_at=w.clock.now)
    answer = w.client.put(f"/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                          headers={**put_headers(w.station["Authorization"][7:], meta["record_id"])})
    assert answer.status_code == 201
    assert answer.json()["status"] == "awaiting_code"
    return str(meta["record_id"]), ticket


def bind(w: World, ticket: str, student: Any, last4: str | None = None, *, phone: bool = True) -> Any:
    body = {"ticket": ticket, "code_payload": student.payload, "id_last4": last4 or student.last_four}
    return w.client.post("/api/v1/bind", json=body, headers=None if phone else w.station)


def test_phone_binds_without_a_token_and_the_record_joins_the_queue(world: World) -> None:
    record_id, ticket = codeless_record(world)
    shown = tickets.display(ticket).lower()  # as a person types it from the receipt
    answer = bind(world, shown, world.students[0])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"record_id": record_id, "status": "queued"}
    status = world.client.post("/api/v1/records/status", json={"ids": [record_id]}, headers=world.station)
    assert status.json()["records"][0]["queue_position"] == 1
    with world.app.state.server.db.read() as conn:
        row = conn.execute(text("SELECT student_uid, code_json FROM records WHERE record_id=:id"),
                           {"id": record_id}).one()
    assert row.student_uid and "masked_name" in row.code_json


def test_station_binds_with_its_token(world: World) -> None:
    record_id, ticket = codeless_record(world)
    answer = bind(world, ticket, world.students[1], phone=False)
    assert answer.json() == {"record_id": record_id, "status": "queued"}


def test_binding_the_same_code_twice_is_idempotent_and_another_code_conflicts(world: World) -> None:
    _, ticket = codeless_record(world)
    first = bind(world, ticket, world.students[0])
    assert first.status_code == 200
    again = bind(world, ticket, world.students[0], phone=False)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert_problem(bind(world, ticket, world.students[1]), 409, "bound-elsewhere")


def test_refusals(world: World) -> None:
    _, ticket = codeless_record(world)
    # a phone cannot tell a ticket nobody holds from wrong last four; a station can
    unknown = assert_problem(bind(world, tickets.new_ticket(), world.students[0]), 422, "wrong-last-four")
    assert unknown["attempts_left"] == 4
    assert_problem(bind(world, tickets.new_ticket(), world.students[0], phone=False), 404, "unknown-ticket")
    typo = ticket[:3] + ("0" if ticket[3] != "0" else "1") + ticket[4:]
    assert_problem(bind(world, typo, world.students[0]), 422, "bad-ticket")
    wrong = assert_problem(bind(world, ticket, world.students[0], last4="0000"), 422, "wrong-last-four")
    assert wrong["attempts_left"] == 4
    assert "message" in wrong
    garbage = assert_problem(world.client.post("/api/v1/bind", json={
        "ticket": ticket, "code_payload": "https://example.com/not-a-code", "id_last4": "1234"}), 422, "bad-code")
    assert garbage["message_key"].startswith("code")
    other = assert_problem(bind(world, ticket, world.stranger), 422, "bad-code")
    # codes that are not this batch's say nothing about the ticket's secret: its count is untouched
    assert other["attempts_left"] == 4
    assert bind(world, ticket, world.students[0], last4="0000").json()["attempts_left"] == 3
    assert_problem(world.client.post("/api/v1/bind", json={"ticket": ticket}), 422, "invalid")
    bad_token = world.client.post("/api/v1/bind", headers={"Authorization": "Bearer forged"}, json={
        "ticket": ticket, "code_payload": world.students[0].payload, "id_last4": world.students[0].last_four})
    assert_problem(bad_token, 401)


def test_phone_misses_lock_the_ticket_for_a_while_but_not_the_station(world: World) -> None:
    record_id, ticket = codeless_record(world)
    student = world.students[0]
    for left in (4, 3, 2, 1, 0):
        assert bind(world, ticket, student, last4="0000").json()["attempts_left"] == left
    locked = assert_problem(bind(world, ticket, student), 429, "too-many-attempts")
    assert int(locked["retry_after_s"]) == 15 * 60
    assert bind(world, ticket, student).headers["retry-after"] == str(15 * 60)
    world.clock.now += timedelta(minutes=16)
    assert bind(world, ticket, student).status_code == 200

    # The station's operator is not locked out by a phone's misses.
    _, other_ticket = codeless_record(world, seed=1)
    for _ in range(5):
        bind(world, other_ticket, world.students[1], last4="0000")
    assert bind(world, other_ticket, world.students[1]).status_code == 429
    assert bind(world, other_ticket, world.students[1], phone=False).status_code == 200
    assert record_id


def student_uid(i: int) -> str:
    """The ``student_uid`` in the code of ``world.students[i]``."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"demo/{BATCH.feature_code}/{i}").hex


def test_a_bind_that_would_put_a_second_photo_of_a_student_in_review_is_409(world: World) -> None:
    photo = jpeg(9)
    meta = metadata(photo, code={"student_uid": student_uid(0)}, captured_at=world.clock.now)
    assert world.client.put(f"/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                            headers=put_headers(world.station["Authorization"][7:], meta["record_id"])
                            ).json()["status"] == "queued"
    record_id, ticket = codeless_record(world, seed=2)
    assert_problem(bind(world, ticket, world.students[0]), 409, "student-in-review")
    assert_problem(bind(world, ticket, world.students[0], phone=False), 409, "student-in-review")
    with world.app.state.server.db.read() as conn:
        row = conn.execute(text("SELECT status, code_payload FROM records WHERE record_id=:id"),
                           {"id": record_id}).one()
    assert tuple(row) == ("awaiting_code", None)  # nothing half-bound
    assert bind(world, ticket, world.students[1]).status_code == 200  # its real owner still binds


def test_staff_lift_a_lock_by_api_and_by_command(world: World, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _, ticket = codeless_record(world)
    student = world.students[0]
    for _ in range(5):
        bind(world, ticket, student, last4="0000")
    assert bind(world, ticket, student).status_code == 429
    assert_problem(world.client.delete(f"/api/v1/bind/locks/{ticket}", headers=world.station), 403)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    assert world.client.delete(f"/api/v1/bind/locks/{ticket}", headers=admin).json() == {"unlocked": True}
    assert world.client.delete(f"/api/v1/bind/locks/{ticket}", headers=admin).json() == {"unlocked": False}
    # the command works on the database directly
    _, other = codeless_record(world, seed=1)
    for _ in range(5):
        bind(world, other, world.students[1], last4="0000")
    server = world.app.state.server.config.server
    config_file = tmp_path / "unlock.toml"
    config_file.write_text(f'[server]\ndata_dir = "{server.data_dir}"\ndatabase = "{server.database}"\n', "utf-8")
    assert main(["server", "--config", str(config_file), "unlock-ticket", other]) == 0
    assert f"{other}: unlocked" in capsys.readouterr().out
    assert bind(world, ticket, student).status_code == 200
    assert bind(world, other, world.students[1]).status_code == 200


def test_one_client_guessing_many_tickets_is_locked_out(world: World) -> None:
    _, ticket = codeless_record(world)
    for _ in range(12):  # a different made-up ticket every time: no ticket reaches its own limit
        assert_problem(bind(world, tickets.new_ticket(), world.students[0], last4="0000"), 422, "wrong-last-four")
    assert_problem(bind(world, ticket, world.students[0]), 429, "too-many-attempts")
    assert bind(world, ticket, world.students[0], phone=False).status_code == 200  # staff at a station still can


def test_a_station_guessing_is_limited_too(world: World) -> None:
    _, ticket = codeless_record(world)
    for _ in range(6):
        assert_problem(bind(world, ticket, world.students[0], last4="0000", phone=False), 422, "wrong-last-four")
    assert_problem(bind(world, ticket, world.students[0], phone=False), 429, "too-many-attempts")
    assert bind(world, ticket, world.students[0]).status_code == 200  # the phone's own count is apart


def test_without_a_usable_key_file_binding_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    config = ServerConfig(server=server_config(tmp_path).server, codes=CodesSection(key_file=tmp_path / "none.json"))
    app = create_app(config, admin_token=ADMIN, purge_every_s=None)
    token = app.state.server.tokens.issue("station-01", datetime.now(UTC))
    ticket = tickets.new_ticket()
    photo = jpeg(1)
    meta = metadata(photo, codeless=True, ticket=ticket)
    with TestClient(app) as client:
        assert client.put(f"/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                          headers=put_headers(token, meta["record_id"])).status_code == 201
        answer = client.post("/api/v1/bind", json={"ticket": ticket, "code_payload": "KC1.x", "id_last4": "1234"})
    assert_problem(answer, 503, "codes-unavailable")
    assert answer.headers["retry-after"] == "60"


def test_a_clashed_ticket_binds_only_the_record_that_first_held_it(world: World) -> None:
    # two stations made the same ticket; each student typed their own last four at the codeless capture
    first, second = world.students[0], world.students[1]
    assert codes.normalise_last_four(first.last_four) != codes.normalise_last_four(second.last_four)
    ticket = tickets.new_ticket()
    acks, ids = [], []
    for seed, (student, station) in enumerate(((first, "campus-a.st-1"), (second, "campus-b.st-1"))):
        token = world.app.state.server.tokens.issue(station, world.clock.now)
        photo = jpeg(seed + 20)
        meta = metadata(photo, codeless=True, ticket=ticket, captured_at=world.clock.now, id_last4=student.last_four)
        parts, headers = upload_parts(meta, photo), put_headers(token, meta["record_id"])
        answer = world.client.put(f"/api/v1/records/{meta['record_id']}", files=parts, headers=headers)
        assert answer.status_code == 201, answer.text
        replay = world.client.put(f"/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                                  headers=headers)
        assert replay.status_code == 200 and replay.json() == answer.json()  # the same ack, the same ticket
        acks.append(answer.json())
        ids.append(meta["record_id"])
    assert acks[0]["ticket"] == ticket
    fresh = acks[1]["ticket"]
    assert fresh != ticket and tickets.is_ticket(fresh)
    # the second student, holding the clashed ticket, cannot bind the first student's record
    assert_problem(bind(world, ticket, second), 422, "wrong-last-four")
    with world.app.state.server.db.read() as conn:
        states = conn.execute(text("SELECT record_id, status FROM records")).all()
    assert {r.status for r in states} == {"awaiting_code"}
    assert bind(world, fresh, second).json() == {"record_id": ids[1], "status": "queued"}
    assert bind(world, ticket, first).json() == {"record_id": ids[0], "status": "queued"}


def test_a_station_binding_is_not_checked_against_the_capture_last_four(world: World) -> None:
    # the station's operator compared them (and may override, audited): the server takes the station's word
    student = world.students[2]
    ticket = tickets.new_ticket()
    photo = jpeg(30)
    meta = metadata(photo, codeless=True, ticket=ticket, captured_at=world.clock.now, id_last4="0000")
    assert world.client.put(f"/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                            headers=put_headers(world.station["Authorization"][7:], meta["record_id"])
                            ).status_code == 201
    if codes.normalise_last_four(student.last_four) != "0000":
        assert_problem(bind(world, ticket, student), 422, "wrong-last-four")
    assert bind(world, ticket, student, phone=False).json()["record_id"] == meta["record_id"]
