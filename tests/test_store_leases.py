"""Leases: a worker whose lease ran out cannot settle (or free) a record another worker now holds."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_sync_fakes import jpeg_bytes

from kiosk.store import DiskFull, NewRecord, Store, StoreError

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
JPEG = jpeg_bytes(2)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    s = Store.open(tmp_path / "data", clock=clock)
    yield s
    s.close()


def record() -> NewRecord:
    return NewRecord(batch="1S95KT", station_id="st-1", code_payload="KC1.x", student_uid="U1", id_last4="1234")


@pytest.mark.parametrize("late", ["retry", "dead", "release", "release_all"])
def test_a_late_worker_does_not_free_a_record_another_worker_holds(store: Store, clock: Clock, late: str) -> None:
    rec = store.add_record(record(), JPEG)
    assert store.lease_next("w1", 1, clock()) is not None
    clock.now += timedelta(seconds=2)
    assert store.lease_next("w2", 60, clock()) is not None  # w1's lease ran out; w2 is sending now
    if late == "retry":
        store.mark_retry(rec.id, "network", clock(), worker="w1")
    elif late == "dead":
        store.mark_dead(rec.id, "http 422", worker="w1")
    elif late == "release":
        store.release(rec.id, "http 401", worker="w1")
    else:
        store.release_all([rec.id], "not tried", worker="w1")
    got = store.get(rec.id)
    assert got is not None and got.sync_state == "sending" and got.attempts == 0
    assert store.lease_next("w3", 60, clock()) is None  # never leased twice at once
    store.mark_sent(rec.id, {"status": "queued"})
    got = store.get(rec.id)
    assert got is not None and got.sync_state == "sent"


def test_the_holder_settles_its_own_lease(store: Store, clock: Clock) -> None:
    rec = store.add_record(record(), JPEG)
    store.lease_next("w1", 60, clock())
    store.mark_retry(rec.id, "network", clock(), worker="w1")
    got = store.get(rec.id)
    assert got is not None and (got.sync_state, got.attempts) == ("retry", 1)


class LockedConnection:
    """A connection whose every statement finds the database locked (another process's long write)."""

    in_transaction = False

    def execute(self, *args: object) -> None:
        raise sqlite3.OperationalError("database is locked")


@pytest.mark.parametrize("call", ["get", "records", "stats", "find_by_ticket", "find_by_student", "events",
                                  "queue_length", "next_due", "review_open", "pending_bindings", "lease"])
def test_a_locked_database_is_a_typed_error_on_reads_too(store: Store, clock: Clock, call: str) -> None:
    real, store._conn = store._conn, LockedConnection()  # type: ignore[assignment]
    try:
        with pytest.raises(StoreError) as info:
            {"get": lambda: store.get("x"), "records": store.records, "stats": lambda: store.stats(T0.date()),
             "find_by_ticket": lambda: store.find_by_ticket("T"), "find_by_student": lambda: store.find_by_student("U"),
             "events": lambda: store.events("x"), "queue_length": store.queue_length, "next_due": store.next_due,
             "review_open": store.review_open, "pending_bindings": store.pending_bindings,
             "lease": lambda: store.lease_next("w", 60, clock())}[call]()
    finally:
        store._conn = real
    assert info.value.key == "store.busy"


def test_a_database_error_while_checking_at_open_is_a_typed_error(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import kiosk.store as store_module

    def malformed(store: Store, mode: str) -> None:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(store_module, "check_at_open", malformed)
    with pytest.raises(StoreError) as info:
        Store.open(tmp_path / "data")
    assert info.value.key == "store.damaged"  # the store says what happened, not "could not be saved"


@pytest.mark.parametrize("position", [2**70, -1, True, "3"])
def test_a_strange_queue_position_from_the_server_is_dropped_not_raised(store: Store, clock: Clock,
                                                                        position: object) -> None:
    rec = store.add_record(record(), JPEG)
    store.lease_next("w1", 60, clock())
    store.mark_sent(rec.id, {"status": "queued", "queue_position": position})
    assert store.set_review(rec.id, "approved", position, None)  # type: ignore[arg-type]
    got = store.get(rec.id)
    assert got is not None and got.sync_state == "sent" and got.queue_position is None
    assert got.review_status == "approved"


def test_a_failed_read_after_the_commit_still_reports_the_saved_record(store: Store,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # Saying "not saved" here would make the student sit again: a second record of the same person.
    def locked(record_id: str) -> None:
        raise sqlite3.OperationalError("database is locked")

    with monkeypatch.context() as m:
        m.setattr(store, "_row", locked)
        rec = store.add_record(record(), JPEG, original_jpeg=JPEG)
    stored = store.get(rec.id)
    assert stored == rec and rec.photo_path.read_bytes() == JPEG and rec.sync_state == "pending"


class FailingRollback:
    """BEGIN works, the statement finds the disk full, and the rollback itself fails."""

    in_transaction = False

    def execute(self, sql: str, *args: object) -> None:
        if sql == "BEGIN IMMEDIATE":
            self.in_transaction = True
        elif sql == "ROLLBACK":
            raise sqlite3.OperationalError("disk I/O error")
        else:
            raise sqlite3.OperationalError("database or disk is full")


def test_a_failing_rollback_does_not_hide_the_typed_error(store: Store, clock: Clock) -> None:
    real, store._conn = store._conn, FailingRollback()  # type: ignore[assignment]
    try:
        with pytest.raises(DiskFull):
            store.lease_next("w", 60, clock())
    finally:
        store._conn = real


class FullDuringMigration:
    """A version-1 database on a disk that fills up during the next migration (SQLite rolls back on its own)."""

    in_transaction = False

    def execute(self, sql: str, *args: object) -> object:
        if sql == "PRAGMA user_version":
            return FakeCursor()
        if sql == "BEGIN IMMEDIATE":
            self.in_transaction = True
            return None
        if sql == "ROLLBACK":
            if not self.in_transaction:
                raise sqlite3.OperationalError("cannot rollback - no transaction is active")
            self.in_transaction = False
            return None
        self.in_transaction = False
        raise sqlite3.OperationalError("database or disk is full")


class FakeCursor:
    def fetchone(self) -> tuple[int]:
        return (1,)


def test_a_full_disk_during_a_migration_is_reported_as_such() -> None:
    from kiosk.store import migrations

    with pytest.raises(sqlite3.OperationalError, match="full"):
        migrations.migrate(FullDuringMigration())  # type: ignore[arg-type]


def test_bind_code_after_a_sender_died_mid_upload_keeps_the_upload_as_captured(tmp_path: Path, clock: Clock) -> None:
    # kill -9 after the server's commit: the lease runs out and the record is pending again with no attempt
    # counted, yet the server holds it; adding the code to the upload would make the replay a conflict (dead)
    with Store.open(tmp_path, clock=clock) as s:
        rec = s.add_record(NewRecord(batch="1S95KT", station_id="st-1", codeless=True, ticket="ABCDEFGHJ",
                                     phone="13800138000", id_last4="1234"), JPEG)
        before = rec.metadata()
        s.lease_next("dead-worker", 30, clock())
    clock.now += timedelta(seconds=31)
    with Store.open(tmp_path, clock=clock) as s:
        assert s.startup.leases_recovered == 1
        bound = s.bind_code("ABCDEFGHJ", "KC1.payload-U9", None, "U9", "1234")
        assert bound.sync_state == "pending" and bound.attempts == 0
        assert bound.binding_state == "pending" and bound.metadata() == before
