"""The record store: durable capture, the sync queue, lookups, the checks at open."""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from test_sync_fakes import jpeg_bytes

from kiosk import durable
from kiosk.store import AlreadyBound, DiskFull, NewRecord, Store, StoreError, UnknownTicket, migrations

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
JPEG = jpeg_bytes(2)
ORIGINAL = jpeg_bytes(3, seed=1)  # another whole JPEG: the server refuses bytes after the end marker


class Clock:
    """A clock the test moves."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


def code_record(uid: str = "U1", batch: str = "1S95KT") -> NewRecord:
    return NewRecord(batch=batch, station_id="st-1", code_payload=f"KC1.payload-{uid}",
                     code_fields={"masked_name": "张*", "student_uid": uid}, student_uid=uid, id_last4="123X")


def codeless_record(ticket: str = "ABCDEFGHJ") -> NewRecord:
    return NewRecord(batch="1S95KT", station_id="st-1", codeless=True, ticket=ticket, phone="13800138000",
                     id_last4="1234", name="李四")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Store:
    s = Store.open(tmp_path / "data", clock=clock)
    yield s
    s.close()


def photo_files(store: Store) -> list[str]:
    """The photo files (record cards beside them left out)."""
    return sorted(p.name for p in store.photos_dir.iterdir() if p.suffix != ".json")


def card_files(store: Store) -> list[str]:
    return sorted(p.name for p in store.photos_dir.iterdir() if p.suffix == ".json")


def test_open_sets_wal_full_and_schema_version(store: Store) -> None:
    conn = store.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(migrations.MIGRATIONS)
    assert store.startup.schema_to == len(migrations.MIGRATIONS)


def test_add_record_keeps_everything_and_the_photo(store: Store, clock: Clock) -> None:
    rec = store.add_record(code_record(), JPEG, original_jpeg=ORIGINAL)
    got = store.get(rec.id)
    assert got == rec
    assert len(rec.id) == 36 and rec.sync_state == "pending"
    assert rec.captured_at == T0 and rec.monotonic_ns > 0 and rec.boot_id
    assert rec.photo_path.read_bytes() == JPEG and rec.photo_bytes == len(JPEG)
    assert rec.original_path is not None and rec.original_path.read_bytes() == ORIGINAL
    assert rec.code_fields == {"masked_name": "张*", "student_uid": "U1"}
    meta = rec.metadata()
    assert meta["record_id"] == rec.id and meta["captured_at"] == "2026-06-01T09:00:00.000000Z"
    assert meta["code"] == rec.code_fields and meta["original_sha256"]
    assert [e["kind"] for e in store.events(rec.id)] == ["captured"]
    assert oct(rec.photo_path.stat().st_mode & 0o777) == oct(0o600)


def test_refuses_what_is_not_a_jpeg(store: Store) -> None:
    with pytest.raises(StoreError) as info:
        store.add_record(code_record(), b"GIF89a...")
    assert info.value.key == "store.refused.not_jpeg"
    assert store.records() == [] and photo_files(store) == []


def test_enospc_while_writing_the_photo_leaves_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = durable._write_all

    def write_then_fill_the_disk(fd: int, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the photo is on disk, the original hits a full disk
            os.write(fd, data[:10])
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd, data)

    monkeypatch.setattr(durable, "_write_all", write_then_fill_the_disk)
    with pytest.raises(DiskFull) as info:
        store.add_record(code_record(), JPEG, original_jpeg=JPEG)
    assert info.value.key == "store.disk_full"
    assert "磁盘已满" in info.value.message("zh") and "disk is full" in info.value.message("en")
    assert store.records() == [] and photo_files(store) == []


def test_failed_fsync_leaves_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    with monkeypatch.context() as m:
        m.setattr(os, "fsync", fsync)
        with pytest.raises(StoreError) as info:
            store.add_record(code_record(), JPEG)
    assert info.value.key == "store.write_failed" and not isinstance(info.value, DiskFull)
    assert store.records() == [] and photo_files(store) == []


def test_full_database_leaves_no_row_and_no_file(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object, **kw: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store, "event", full)
    with pytest.raises(DiskFull):
        store.add_record(code_record(), JPEG)
    monkeypatch.undo()
    assert store.records() == [] and photo_files(store) == []
    assert store.add_record(code_record(), JPEG).sync_state == "pending"  # the store still works


def test_queue_oldest_first_and_states(store: Store, clock: Clock) -> None:
    a = store.add_record(code_record("A"), JPEG)
    b = store.add_record(code_record("B"), JPEG)
    c = store.add_record(code_record("C"), JPEG)
    assert store.queue_length() == 3
    first = store.lease_next("w1", 60, clock())
    assert first is not None and first.id == a.id and first.sync_state == "sending"
    assert first.lease_until == clock() + timedelta(seconds=60)
    store.mark_retry(a.id, "http 503", clock() + timedelta(seconds=30))
    second = store.lease_next("w1", 60, clock())
    assert second is not None and second.id == b.id
    store.mark_dead(b.id, "http 422 invalid-metadata")
    third = store.lease_next("w1", 60, clock())
    assert third is not None and third.id == c.id
    store.mark_sent(c.id, {"status": "queued", "queue_position": 7})
    assert store.lease_next("w1", 60, clock()) is None  # a's retry is not due yet
    clock.advance(seconds=31)
    again = store.lease_next("w1", 60, clock())
    assert again is not None and again.id == a.id and again.attempts == 1
    retried = store.get(a.id)
    assert retried is not None and retried.last_error == "http 503"
    dead, sent = store.get(b.id), store.get(c.id)
    assert dead is not None and dead.sync_state == "dead" and dead.dead_reason == "http 422 invalid-metadata"
    assert sent is not None and (sent.sync_state, sent.review_status, sent.queue_position) == ("sent", "queued", 7)
    assert store.queue_length() == 1  # a is sending; dead and sent are out of the queue
    kinds = [(e["from_state"], e["to_state"]) for e in store.events(a.id)]
    assert kinds == [(None, "pending"), ("pending", "sending"), ("sending", "retry"), ("retry", "sending")]


def test_release_does_not_use_an_attempt(store: Store, clock: Clock) -> None:
    rec = store.add_record(code_record(), JPEG)
    store.lease_next("w", 60, clock())
    store.release(rec.id, "http 401")
    got = store.get(rec.id)
    assert got is not None and (got.sync_state, got.attempts) == ("pending", 0)


def test_a_late_result_does_not_undo_a_newer_one(store: Store, clock: Clock) -> None:
    rec = store.add_record(code_record(), JPEG)
    store.lease_next("w1", 1, clock())
    clock.advance(seconds=2)
    assert store.lease_next("w2", 60, clock()) is not None  # w1's lease ran out
    store.mark_sent(rec.id, {"status": "queued"})
    store.mark_retry(rec.id, "network", clock())  # w1 finally gives up: too late
    got = store.get(rec.id)
    assert got is not None and got.sync_state == "sent"


def test_expired_leases_go_back_to_pending_at_open(tmp_path: Path, clock: Clock) -> None:
    with Store.open(tmp_path, clock=clock) as s:
        rec = s.add_record(code_record(), JPEG)
        s.lease_next("dead-worker", 30, clock())
    clock.advance(seconds=31)
    with Store.open(tmp_path, clock=clock) as s:
        assert s.startup.leases_recovered == 1
        got = s.get(rec.id)
        assert got is not None and got.sync_state == "pending"


def test_lease_is_atomic_across_connections(tmp_path: Path) -> None:
    with Store.open(tmp_path) as s:
        ids = {s.add_record(code_record(str(i)), JPEG).id for i in range(60)}
    got: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        with Store.open(tmp_path, check_photos="none") as s:
            while (rec := s.lease_next(name, 60, datetime.now(UTC))) is not None:
                with lock:
                    got.append(rec.id)
                s.mark_sent(rec.id, {})

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(ids)  # every record once, none twice


def test_queue_pick_uses_the_partial_indexes(store: Store) -> None:
    # the cost of picking must not grow with the queue: each door is an index walk
    plans = " ".join(str(tuple(r)) for r in store.conn.execute(
        "EXPLAIN QUERY PLAN SELECT seq FROM records INDEXED BY records_pending WHERE sync_state = 'pending' "
        "ORDER BY seq LIMIT 1"))
    assert "records_pending" in plans and "TEMP B-TREE" not in plans
    plans = " ".join(str(tuple(r)) for r in store.conn.execute(
        "EXPLAIN QUERY PLAN SELECT seq FROM records INDEXED BY records_due WHERE sync_state IN ('retry', 'sending') "
        "AND due_at <= 1 ORDER BY due_at LIMIT 1"))
    assert "records_due" in plans and "TEMP B-TREE" not in plans


def test_lookups_and_review(store: Store, clock: Clock) -> None:
    a = store.add_record(code_record("U1"), JPEG)
    b = store.add_record(code_record("U1"), JPEG)  # a retake
    c = store.add_record(codeless_record(), JPEG)
    assert [r.id for r in store.find_by_student("U1")] == [b.id, a.id]
    found = store.find_by_ticket("ABCDEFGHJ")
    assert found is not None and found.id == c.id and found.phone == "13800138000"
    assert store.find_by_ticket("ZZZZZZZZZ") is None and store.get("nope") is None
    assert [r.id for r in store.records()] == [c.id, b.id, a.id]
    assert [r.id for r in store.records(limit=1)] == [c.id]
    store.lease_next("w", 60, clock())
    store.mark_sent(a.id, {"status": "queued", "queue_position": 3})
    assert store.review_open() == [a.id]
    assert store.set_review(a.id, "approved", None, None) is True
    assert store.set_review(a.id, "approved", None, None) is False
    store.set_review(a.id, "rejected", None, "eyes closed")
    got = store.get(a.id)
    assert got is not None and (got.review_status, got.review_reason) == ("rejected", "eyes closed")
    assert store.review_open() == []
    stats = store.stats(T0.astimezone().date())
    assert stats["captured"] == 3 and stats["codeless"] == 1 and stats["sent"] == 1 and stats["rejected"] == 1
    assert stats["queued"] == 2 and stats["pending"] == 2
    assert store.stats(date(2020, 1, 1))["captured"] == 0


def test_bind_code_before_sending_travels_with_the_upload(store: Store, clock: Clock) -> None:
    rec = store.add_record(codeless_record(), JPEG)
    bound = store.bind_code("ABCDEFGHJ", "KC1.payload-U9", {"masked_name": "李*"}, "U9", "1234")
    assert bound.id == rec.id and bound.code_payload == "KC1.payload-U9" and bound.binding_state is None
    assert bound.metadata()["code_payload"] == "KC1.payload-U9" and bound.metadata()["codeless"] is True
    assert store.bind_code("ABCDEFGHJ", "KC1.payload-U9", None, "U9", "1234").id == rec.id  # same code: no-op
    with pytest.raises(AlreadyBound):
        store.bind_code("ABCDEFGHJ", "KC1.payload-OTHER", None, "U8", "1234")
    with pytest.raises(UnknownTicket):
        store.bind_code("ZZZZZZZZZ", "KC1.x", None, None, None)


def test_bind_code_after_sending_queues_a_binding(store: Store, clock: Clock) -> None:
    rec = store.add_record(codeless_record(), JPEG)
    store.lease_next("w", 60, clock())
    store.mark_sent(rec.id, {"status": "awaiting_code"})
    bound = store.bind_code("ABCDEFGHJ", "KC1.payload-U9", None, "U9", "1234")
    assert bound.binding_state == "pending"
    assert [r.id for r in store.pending_bindings()] == [rec.id]
    store.mark_binding(rec.id, "sent")
    assert store.pending_bindings() == []
    assert store.events(rec.id)[-1]["kind"] == "binding_sent"


def test_events_are_append_only(store: Store) -> None:
    rec = store.add_record(code_record(), JPEG)
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute("UPDATE events SET kind = 'x' WHERE record_id = ?", (rec.id,))
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute("DELETE FROM events")


def test_bind_code_after_a_failed_attempt_keeps_the_upload_as_captured(store: Store, clock: Clock) -> None:
    # the server may have committed the first attempt whose answer was lost: a replay must be identical
    rec = store.add_record(codeless_record(), JPEG)
    before = rec.metadata()
    store.lease_next("w", 60, clock())
    store.mark_retry(rec.id, "network ReadTimeout", clock())
    bound = store.bind_code("ABCDEFGHJ", "KC1.payload-U9", {"masked_name": "李*"}, "U9", "567X")
    assert bound.binding_state == "pending" and bound.bind_last4 == "567X" and bound.id_last4 == "1234"
    assert bound.metadata() == before
    assert [r.id for r in store.find_by_student("U9")] == [rec.id]


def test_migrations_upgrade_an_older_database(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / Store.DB_NAME, isolation_level=None)
    for statement in migrations.MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    with Store.open(tmp_path) as s:
        assert (s.startup.schema_from, s.startup.schema_to) == (1, len(migrations.MIGRATIONS))
        rec = s.add_record(codeless_record(), JPEG)
        assert rec.bind_last4 is None


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / Store.DB_NAME, isolation_level=None)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError) as info:
        Store.open(tmp_path)
    assert info.value.key == "store.schema_newer"


def test_lease_batch_and_give_back(store: Store, clock: Clock) -> None:
    ids = [store.add_record(code_record(str(i)), JPEG).id for i in range(5)]
    leased = store.lease_batch("w", 60, clock(), 3)
    assert [r.id for r in leased] == ids[:3] and {r.sync_state for r in leased} == {"sending"}
    store.release_all([r.id for r in leased[1:]], "not tried")
    states = [(r.id, r.sync_state, r.attempts) for r in reversed(store.records())]
    assert states == [(ids[0], "sending", 0)] + [(i, "pending", 0) for i in ids[1:]]
    assert [r.id for r in store.lease_batch("w", 60, clock(), 10)] == ids[1:]


def test_integrity_check(store: Store) -> None:
    store.add_record(code_record(), JPEG)
    assert store.check_integrity() == []


def test_the_database_is_private(store: Store) -> None:
    store.add_record(code_record(), JPEG)
    for name in (Store.DB_NAME, Store.DB_NAME + "-wal"):
        assert (store.data_dir / name).stat().st_mode & 0o077 == 0, name
    assert store.data_dir.stat().st_mode & 0o077 == 0


def test_a_really_full_database_leaves_no_row_and_no_file(store: Store) -> None:
    store.add_record(code_record("A"), JPEG)
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite itself answers SQLITE_FULL
    with pytest.raises(DiskFull):
        for i in range(200):  # the first insert that needs a new page fails
            store.add_record(code_record(f"B{i}"), JPEG)
    kept = store.records(limit=None)
    assert sorted(p for p in photo_files(store)) == sorted(r.photo_path.name for r in kept)
    assert card_files(store) == sorted(f"{r.id}.json" for r in kept)
    assert all(r.photo_path.exists() for r in kept)
