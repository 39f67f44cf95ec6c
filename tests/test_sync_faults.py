"""The sync client when the station itself misbehaves: a full disk, a photo that cannot be read now."""

from __future__ import annotations

import errno
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_sync_fakes import FakeServer, client, jpeg_bytes, new, write_token

from kiosk import durable
from kiosk.config import SyncSection
from kiosk.store import NewRecord, Store
from kiosk.sync import SyncError, load_cached_batch

PHOTO = jpeg_bytes(8)
BATCH = {"feature_code": "1S95KT", "school_code": "10001", "school_name": "示例大学",
         "start_date": "2026-06-01", "end_date": "2026-06-02", "fee_required": False}


def settings(tmp_path: Path, url: str) -> SyncSection:
    return SyncSection(server_url=url, token_file=write_token(tmp_path), connect_timeout_s=1.0,
                       read_timeout_s=2.0, backoff_base_s=1.0, backoff_cap_s=60.0, lease_s=30.0, poll_s=0.05)


def test_a_full_disk_while_caching_the_batch_does_not_stop_the_cycle(store: Store, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def full(path: Path, data: bytes, **kw: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with FakeServer() as server:
        server.batches["1S95KT"] = BATCH
        rec = store.add_record(new(), PHOTO)
        c = client(store, settings(tmp_path, server.base_url), batch_code="1S95KT")
        monkeypatch.setattr(durable, "write_file", full)
        report = c.run_once()  # uploads, then refreshes the batch: the cache cannot be written
        assert c.fetch_batch("1S95KT").school_name == "示例大学"  # the batch itself is still good
    got = store.get(rec.id)
    assert report.sent == 1 and got is not None and got.sync_state == "sent"
    assert load_cached_batch(store.data_dir, "1S95KT") is None


def test_a_photo_that_cannot_be_read_for_now_is_retried_not_given_up(store: Store, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    rec = store.add_record(new(), PHOTO)
    real = Path.read_bytes

    def flaky(path: Path) -> bytes:
        if path == rec.photo_path:
            raise OSError(errno.EMFILE, "Too many open files")
        return real(path)

    now = [datetime.now(UTC)]
    with FakeServer() as server:
        c = client(store, settings(tmp_path, server.base_url), clock=lambda: now[0])
        monkeypatch.setattr(Path, "read_bytes", flaky)
        report = c.run_once()
        got = store.get(rec.id)
        assert got is not None and got.sync_state == "retry" and report.dead == 0, got
        assert got.next_at is not None and server.puts == []
        monkeypatch.setattr(Path, "read_bytes", real)
        now[0] = got.next_at + timedelta(seconds=1)  # the retry falls due
        assert c.run_once().sent == 1
    got = store.get(rec.id)
    assert got is not None and got.sync_state == "sent"


def test_a_photo_gone_for_good_is_set_aside(store: Store, tmp_path: Path) -> None:
    rec = store.add_record(new(), PHOTO)
    rec.photo_path.unlink()
    with FakeServer() as server:
        report = client(store, settings(tmp_path, server.base_url)).run_once()
    got = store.get(rec.id)
    assert report.dead == 1 and got is not None and got.sync_state == "dead" and server.puts == []


class LockedConnection:
    """A connection whose every statement finds the database locked (another process's long write)."""

    in_transaction = False

    def execute(self, *args: object) -> None:
        raise sqlite3.OperationalError("database is locked")


def test_the_daemon_outlives_a_locked_database(store: Store, tmp_path: Path) -> None:
    rec = store.add_record(new(), PHOTO)
    waits: list[float] = []
    stop = threading.Event()
    real = store._conn

    def sleep(s: float) -> None:
        waits.append(s)
        store._conn = real  # the other process is done
        if len(waits) == 2:
            stop.set()

    with FakeServer() as server:
        c = client(store, settings(tmp_path, server.base_url), sleep=sleep)
        store._conn = LockedConnection()  # type: ignore[assignment]
        try:
            c.run_forever(stop)
        finally:
            store._conn = real
    got = store.get(rec.id)
    assert waits[0] == c.settings.poll_s and got is not None and got.sync_state == "sent"


@pytest.mark.parametrize("header", ["²", "١٢", "𝟗", "12.5", "-3", "soon"])
def test_a_strange_retry_after_is_ignored_not_raised(header: str) -> None:
    from kiosk.sync import outcome as oc

    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert oc.parse_retry_after(header, now) is None
    result = oc.classify_status(503, {"Retry-After": header}, b"", now)
    assert result.kind == oc.RETRY and result.retry_after_s is None


@pytest.mark.parametrize("status", [200, 422, 503])
def test_a_deeply_nested_answer_is_no_acknowledgement_and_no_crash(status: int) -> None:
    from kiosk.sync import outcome as oc

    body = b"[" * 200_000
    result = oc.classify_upload(status, {"Content-Type": "application/problem+json"}, body, record_id="r1",
                                photo_sha256="a" * 64, now=datetime(2026, 6, 1, tzinfo=UTC))
    assert result.kind == (oc.DEAD if status == 422 else oc.RETRY) and result.reason.startswith(f"http {status}")
    assert oc.json_body(body) is None


@pytest.mark.parametrize("status", [400, 413, 422])
def test_a_refusal_that_is_not_the_servers_is_retried_not_dead(status: int) -> None:
    # a reverse proxy's 413 for every body over 1 MB would otherwise dead-letter the whole queue, one by one
    from kiosk.sync import outcome as oc

    now = datetime(2026, 6, 1, tzinfo=UTC)
    page = b"<html><body><h1>413 Request Entity Too Large</h1>nginx</body></html>"
    result = oc.classify_upload(status, {"Content-Type": "text/html"}, page, record_id="r1",
                                photo_sha256="a" * 64, now=now)
    assert result.kind == oc.RETRY and result.reason == f"http {status} not from the server"
    own = oc.classify_upload(status, {"Content-Type": "application/problem+json; charset=utf-8"},
                             b'{"title": "too large"}', record_id="r1", photo_sha256="a" * 64, now=now)
    assert own.kind == oc.DEAD and own.reason == f"http {status} too large"


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_a_binding_refused_by_some_proxy_stays_pending_and_goes_through_later(store: Store, tmp_path: Path,
                                                                              status: int) -> None:
    # a failed binding is never pushed again, so only the server's own refusal may fail it
    with FakeServer() as server:
        rec = store.add_record(NewRecord(batch="1S95KT", station_id="st-1", codeless=True, ticket="ABCDEFGHJ",
                                         phone="13800138000", id_last4="1234"), PHOTO)
        c = client(store, settings(tmp_path, server.base_url))
        c.run_once()
        store.bind_code("ABCDEFGHJ", "KC1.U7", None, "U7", "1234")
        server.bind_answer = (status, b"<html><body>Bad Gateway Portal</body></html>")
        assert c.run_once().bindings == 0
        got = store.get(rec.id)
        assert got is not None and got.binding_state == "pending", got.binding_error
        server.bind_answer = None
        assert c.run_once().bindings == 1
    got = store.get(rec.id)
    assert got is not None and got.binding_state == "sent"


@pytest.mark.parametrize("bad", [{"feature_code": 5}, {"feature_code": None}, {"feature_code": ["1S95KT"]}])
def test_a_malformed_batch_from_the_server_is_refused_not_raised(store: Store, tmp_path: Path, bad: dict) -> None:
    with FakeServer() as server:
        server.batches["1S95KT"] = {**BATCH, **bad}
        c = client(store, settings(tmp_path, server.base_url), batch_code="1S95KT")
        c.run_once()  # the cycle's batch refresh must not end the daemon
        with pytest.raises(SyncError) as info:
            c.fetch_batch("1S95KT")
    assert info.value.key == "sync.batch_unavailable"
    assert load_cached_batch(store.data_dir, "1S95KT") is None
