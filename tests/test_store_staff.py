"""The store's staff side: help requests, notice phones, the station log, codeless records to find."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_sync_fakes import jpeg_bytes

from kiosk.store import NewRecord, Store, StoreError, migrations

JPEG = jpeg_bytes(2)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Store:
    s = Store.open(tmp_path / "data", clock=clock)
    yield s
    s.close()


def codeless(phone: str = "13800138000", ticket: str = "ABCDEFGHJ") -> NewRecord:
    return NewRecord(batch="1S95KT", station_id="st-1", codeless=True, ticket=ticket, phone=phone, id_last4="1234")


def test_help_request_is_kept_until_acknowledged_and_pushed_in_both_states(store: Store, clock: Clock) -> None:
    request = store.raise_help("lockout")
    assert [h.id for h in store.open_help()] == [request.id]
    assert [h.id for h in store.help_to_push()] == [request.id]
    assert request.body() == {"reason": "lockout", "raised_at": "2026-06-01T09:00:00.000000Z",
                              "acknowledged_at": None}
    store.mark_help_pushed(request.id, "raised")
    assert store.help_to_push() == []
    clock.now += timedelta(minutes=3)
    assert store.acknowledge_help() == 1
    assert store.open_help() == []
    again = store.help_to_push()
    assert [h.id for h in again] == [request.id]
    assert again[0].body()["acknowledged_at"] == "2026-06-01T09:03:00.000000Z"
    store.mark_help_pushed(request.id, "acknowledged")
    assert store.help_to_push() == []


def test_unknown_help_reason_is_kept_as_other(store: Store) -> None:
    assert store.raise_help("code_locked").reason == "other"


def test_status_secret_is_stored_and_sent_in_the_upload(store: Store) -> None:
    record = store.add_record(NewRecord(batch="1S95KT", station_id="st-1", code_payload="KC1.test", id_last4="123X",
                                              status_secret="s" * 32), JPEG)
    assert record.status_secret == "s" * 32
    assert store.get(record.id).metadata()["status_secret"] == "s" * 32  # type: ignore[union-attr]


def test_notice_phone_waits_for_the_upload_then_is_pushed(store: Store) -> None:
    record = store.add_record(NewRecord(batch="1S95KT", station_id="st-1", code_payload="KC1.test", id_last4="123X",
                                              student_uid="U1"), JPEG)
    store.set_contact(record.id, "13900139000")
    assert store.pending_contacts() == []  # the server has no record to attach it to yet
    store.mark_sent(record.id, {"status": "queued", "queue_position": 1})
    pending = store.pending_contacts()
    assert [(r.id, r.contact_phone) for r in pending] == [(record.id, "13900139000")]
    store.mark_contact(record.id, "sent")
    assert store.pending_contacts() == []
    kinds = [e["kind"] for e in store.events(record.id)]
    assert "contact" in kinds and kinds[-1] == "contact_sent"


def test_contact_for_an_unknown_record_is_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError):
        store.set_contact("no-such-record", "13900139000")


def test_codeless_records_found_by_phone_and_listed_while_waiting(store: Store) -> None:
    a = store.add_record(codeless("13800138000", "AAAAAAAAA"), JPEG)
    b = store.add_record(codeless("13700137000", "BBBBBBBBB"), JPEG)
    assert [r.id for r in store.find_by_phone("13800138000")] == [a.id]
    assert [r.id for r in store.awaiting_code()] == [b.id, a.id]
    store.bind_code("AAAAAAAAA", "KC1.x", None, "U1", "1234")
    assert [r.id for r in store.awaiting_code()] == [b.id]


def test_station_log_is_append_only(store: Store, tmp_path: Path) -> None:
    record = store.add_record(codeless(), JPEG)
    store.audit("bind_override", "last4_mismatch", record_id=record.id)
    store.audit("code_unlocked")
    assert [e["kind"] for e in store.station_log()] == ["code_unlocked", "bind_override"]
    assert store.events(record.id)[-1]["kind"] == "bind_override"
    conn = sqlite3.connect(tmp_path / "data" / Store.DB_NAME)
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute("DELETE FROM station_log")
    conn.close()


def test_a_version_two_database_is_migrated(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    conn = sqlite3.connect(folder / Store.DB_NAME, isolation_level=None)
    for version in (0, 1):
        for statement in migrations.MIGRATIONS[version]:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    with Store.open(folder) as s:
        assert (s.startup.schema_from, s.startup.schema_to) == (2, len(migrations.MIGRATIONS))
        assert s.raise_help("other").reason == "other"
