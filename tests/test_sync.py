"""The sync client against loopback fake servers: every answer ends in the right state."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_sync_fakes import FakeServer, client, jpeg_bytes, new, write_token

from kiosk.config import SyncSection
from kiosk.store import NewRecord, Store
from kiosk.sync import SyncClient, TokenError, load_cached_batch, load_token
from kiosk.sync import outcome as oc
from kiosk.sync.heartbeat import read_heartbeat

PHOTO = jpeg_bytes(8)
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def settings(tmp_path: Path, url: str, **kw: float) -> SyncSection:
    base = {"connect_timeout_s": 1.0, "read_timeout_s": 2.0, "backoff_base_s": 1.0, "backoff_cap_s": 60.0,
            "lease_s": 30.0, "poll_s": 0.05}
    base.update(kw)
    return SyncSection(server_url=url, token_file=write_token(tmp_path), **base)  # type: ignore[arg-type]


def test_ok_upload_is_sent_with_idempotency_key(store: Store, tmp_path: Path) -> None:
    with FakeServer() as server:
        recs = [store.add_record(new(str(i)), PHOTO, original_jpeg=PHOTO) for i in range(3)]
        report = client(store, settings(tmp_path, server.base_url)).run_once()
    assert report.sent == 3 and store.queue_length() == 0
    assert server.puts == [r.id for r in recs]  # oldest first, one per request
    for r in recs:
        got = store.get(r.id)
        assert got is not None and got.sync_state == "sent" and got.review_status == "queued"
        assert server.records[r.id]["_meta"]["photo_sha256"] == r.photo_sha256
    beat = read_heartbeat(store.data_dir)
    assert beat is not None and beat.queue_length == 0 and beat.last_success is not None and not beat.paused


@pytest.mark.parametrize("behaviour", ["500", "503", "drop", "stall", "html", "408", "409", "429"])
def test_passing_failures_end_in_retry(store: Store, tmp_path: Path, behaviour: str) -> None:
    with FakeServer(default=behaviour) as server:
        server.stall_s = 1.5
        rec = store.add_record(new(), PHOTO)
        cfg = settings(tmp_path, server.base_url, read_timeout_s=0.3)
        before = datetime.now(UTC)
        report = client(store, cfg).run_once()
    got = store.get(rec.id)
    assert got is not None and got.sync_state == "retry" and got.attempts == 1, got
    assert report.retried == 1 and report.sent == 0
    assert got.next_at is not None and got.next_at >= before
    if behaviour == "503":  # Retry-After: 120 beats the 1-2 s back-off
        assert got.next_at >= before + timedelta(seconds=119)
    else:
        assert got.next_at <= datetime.now(UTC) + timedelta(seconds=2)
    if behaviour == "html":
        assert got.last_error == "http 200 without acknowledgement"
    beat = read_heartbeat(store.data_dir)
    assert beat is not None and beat.queue_length == 1 and beat.last_error == got.last_error


def test_a_retry_is_sent_once_due(store: Store, tmp_path: Path) -> None:
    with FakeServer() as server:
        server.script = ["500"]
        rec = store.add_record(new(), PHOTO)
        c = client(store, settings(tmp_path, server.base_url, backoff_base_s=0.01))
        c.run_once()
        got = store.get(rec.id)
        assert got is not None and got.sync_state == "retry"
        assert got.next_at is not None
        c._clock = lambda: got.next_at + timedelta(seconds=0.01)  # type: ignore[operator]
        c.run_once()
    got = store.get(rec.id)
    assert got is not None and got.sync_state == "sent" and got.attempts == 2


@pytest.mark.parametrize("status", ["400", "413", "422"])
def test_refusals_dead_letter_the_record_and_the_queue_goes_on(store: Store, tmp_path: Path, status: str) -> None:
    with FakeServer() as server:
        server.script = [status]
        bad = store.add_record(new("A"), PHOTO)
        good = store.add_record(new("B"), PHOTO)
        report = client(store, settings(tmp_path, server.base_url)).run_once()
    dead, sent = store.get(bad.id), store.get(good.id)
    assert dead is not None and dead.sync_state == "dead" and dead.dead_reason == f"http {status} status {status}"
    assert sent is not None and sent.sync_state == "sent"
    assert report.dead == 1 and report.sent == 1


def test_401_pauses_the_queue_without_using_attempts(store: Store, tmp_path: Path) -> None:
    with FakeServer(token="another-token") as server:
        recs = [store.add_record(new(str(i)), PHOTO) for i in range(3)]
        c = client(store, settings(tmp_path, server.base_url))
        report = c.run_once()
        assert report.paused and len(server.puts) == 1  # the rest of the queue waits
        for r in recs:
            got = store.get(r.id)
            assert got is not None and (got.sync_state, got.attempts) == ("pending", 0)
        beat = read_heartbeat(store.data_dir)
        assert beat is not None and beat.paused and beat.alert_key == "sync.alert_auth"
        c.run_once()
        assert len(server.puts) == 1  # still paused: nothing sent
        # the operator installs the right token; once the pause is over it is re-read
        server.token = "station-token-for-tests"
        resume = c.paused_until
        assert resume is not None
        c._clock = lambda: resume + timedelta(seconds=1)
        report = c.run_once()
    assert report.sent == 3 and not report.paused
    beat = read_heartbeat(store.data_dir)
    assert beat is not None and not beat.paused and beat.alert_key is None


def test_two_workers_race_on_one_queue(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store.open(data) as s:
        ids = [s.add_record(new(str(i)), PHOTO).id for i in range(40)]
    with FakeServer(put_delay_s=0.005) as server:
        cfg = settings(tmp_path, server.base_url)
        errors: list[BaseException] = []

        def work(name: str) -> None:
            try:
                with Store.open(data, check_photos="none") as s:
                    SyncClient(cfg, s, "st-1", worker=name).run_once()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert sorted(server.puts) == sorted(ids)  # no record sent twice
    assert set(server.put_counts().values()) == {1}
    with Store.open(data) as s:
        assert {r.sync_state for r in s.records(limit=None)} == {"sent"}
        workers = {e["detail"] for i in ids for e in s.events(i) if e["kind"] == "leased"}
    assert workers == {"worker=w0", "worker=w1"}  # both really worked


def test_token_file_readable_by_others_is_refused(store: Store, tmp_path: Path) -> None:
    token = write_token(tmp_path, mode=0o644)
    with pytest.raises(TokenError) as info:
        load_token(token)
    assert info.value.key == "sync.token_mode" and "chmod 600" in info.value.message("en")
    with pytest.raises(TokenError):
        SyncClient(SyncSection(server_url="http://127.0.0.1:9", token_file=token), store, "st-1")
    with pytest.raises(TokenError) as info:
        load_token(tmp_path / "absent.token")
    assert info.value.key == "sync.token_unreadable"
    assert load_token(write_token(tmp_path, mode=0o600)) == "station-token-for-tests"


def test_status_pull_and_binding_push(store: Store, tmp_path: Path) -> None:
    with FakeServer() as server:
        codeless = store.add_record(NewRecord(batch="1S95KT", station_id="st-1", codeless=True,
                                              ticket="ABCDEFGHJ", phone="13800138000", id_last4="1234"), PHOTO)
        coded = store.add_record(new(), PHOTO)
        c = client(store, settings(tmp_path, server.base_url))
        c.run_once()
        server.statuses[coded.id] = {"record_id": coded.id, "status": "rejected", "queue_position": None,
                                     "reason": "eyes closed"}
        store.bind_code("ABCDEFGHJ", "KC1.U7", None, "U7", "1234")
        c._status_due = None
        report = c.run_once()
        assert report.bindings == 1 and report.statuses == 1
        binds = [body for path, body in server.posts if path == "/api/v1/bind"]
        assert binds == [{"ticket": "ABCDEFGHJ", "code_payload": "KC1.U7", "id_last4": "1234"}]
        got = store.get(coded.id)
        assert got is not None and (got.review_status, got.review_reason) == ("rejected", "eyes closed")
        bound = store.get(codeless.id)
        assert bound is not None and bound.binding_state == "sent"
        assert store.review_open() == [codeless.id]  # a rejected record is final


def test_binding_refused_by_the_server_is_marked_failed(store: Store, tmp_path: Path) -> None:
    with FakeServer() as server:
        rec = store.add_record(NewRecord(batch="1S95KT", station_id="st-1", codeless=True, ticket="ABCDEFGHJ",
                                         phone="13800138000", id_last4="1234"), PHOTO)
        c = client(store, settings(tmp_path, server.base_url))
        c.run_once()
        store.bind_code("ABCDEFGHJ", "KC1.U7", None, "U7", "9999")
        server.bind_answer = (422, {"title": "wrong last four"})
        c.run_once()
    got = store.get(rec.id)
    assert got is not None and got.binding_state == "failed" and got.binding_error == "http 422 wrong last four"


def test_batch_is_fetched_and_cached_for_offline_use(store: Store, tmp_path: Path) -> None:
    batch = {"feature_code": "1S95KT", "school_code": "10001", "school_name": "示例大学",
             "start_date": "2026-06-01", "end_date": "2026-06-02", "fee_required": False}
    with FakeServer() as server:
        server.batches["1S95KT"] = batch
        c = client(store, settings(tmp_path, server.base_url), batch_code="1s95kt")
        got = c.fetch_batch("1s95kt")
        assert got.school_name == "示例大学"
        with pytest.raises(Exception) as info:
            c.fetch_batch("ZZZZ")
        assert getattr(info.value, "key", "") == "sync.batch_unknown"
    cached = load_cached_batch(store.data_dir, "1S95KT")
    assert cached == got and load_cached_batch(store.data_dir) == got
    assert load_cached_batch(store.data_dir, "ZZZZ") is None


def test_run_forever_stops_and_sleeps_until_due(store: Store, tmp_path: Path) -> None:
    with FakeServer() as server:
        store.add_record(new(), PHOTO)
        stop = threading.Event()
        waits: list[float] = []

        def sleep(s: float) -> None:
            waits.append(s)
            if len(waits) >= 2:
                stop.set()

        c = client(store, settings(tmp_path, server.base_url, poll_s=0.5), sleep=sleep)
        c.run_forever(stop)
    assert store.queue_length() == 0 and waits == [0.5, 0.5]


def test_classification_table() -> None:
    sha, rid = "a" * 64, "r1"
    ok = b'{"record_id": "r1", "photo_sha256": "' + sha.encode() + b'"}'
    assert oc.classify_upload(201, {}, ok, record_id=rid, photo_sha256=sha, now=NOW).kind == oc.SENT
    wrong = b'{"record_id": "r1", "photo_sha256": "' + b"b" * 64 + b'"}'
    assert oc.classify_upload(200, {}, wrong, record_id=rid, photo_sha256=sha, now=NOW).kind == oc.RETRY
    assert oc.classify_upload(302, {}, b"", record_id=rid, photo_sha256=sha, now=NOW).kind == oc.RETRY
    problem = {"Content-Type": "application/problem+json"}
    for status, kind in [(401, oc.PAUSE), (403, oc.PAUSE), (400, oc.DEAD), (413, oc.DEAD), (422, oc.DEAD),
                         (404, oc.RETRY), (408, oc.RETRY), (409, oc.RETRY), (429, oc.RETRY), (502, oc.RETRY)]:
        assert oc.classify_status(status, problem, b"", NOW).kind == kind, status
    assert oc.parse_retry_after("30", NOW) == 30
    assert oc.parse_retry_after("Mon, 01 Jun 2026 09:01:00 GMT", NOW) == 60
    assert oc.parse_retry_after("soon", NOW) is None and oc.parse_retry_after(None, NOW) is None
    rng = random.Random(3)
    delays = [oc.backoff_s(a, 1.0, 300.0, rng) for a in range(20) for _ in range(20)]
    assert all(0 <= d <= 300 for d in delays) and max(delays) > 200  # capped, fully jittered
    late = oc.retry_at(oc.Outcome(oc.RETRY, "x", retry_after_s=100), 0, base_s=1, cap_s=5, now=NOW, rng=rng)
    assert late >= NOW + timedelta(seconds=100)


def test_a_passing_failure_gives_the_rest_back_and_holds_the_queue(store: Store, tmp_path: Path) -> None:
    with FakeServer() as server:
        server.script = ["500"]
        recs = [store.add_record(new(str(i)), PHOTO) for i in range(3)]
        frozen = datetime.now(UTC)
        c = client(store, settings(tmp_path, server.base_url, poll_s=30), clock=lambda: frozen)
        c.run_once()
        states = [(store.get(r.id).sync_state, store.get(r.id).attempts) for r in recs]  # type: ignore[union-attr]
        assert states == [("retry", 1), ("pending", 0), ("pending", 0)]
        assert server.puts == [recs[0].id]
        hold = c.hold_until
        assert hold is not None and 0 < c.wait_s() <= 2  # not 0: the pending ones wait too
        c.run_once()
        assert server.puts == [recs[0].id]  # held: no request until the failed record's retry time
        c._clock = lambda: hold + timedelta(seconds=0.01)
        assert c.run_once().sent == 3
    assert server.put_counts() == {recs[0].id: 2, recs[1].id: 1, recs[2].id: 1}


def test_session_verifies_tls_with_the_configured_bundle(tmp_path: Path) -> None:
    from kiosk.sync import make_session

    bundle = tmp_path / "ca.pem"
    assert make_session(SyncSection(ca_bundle=str(bundle)), "t").verify == str(bundle)
    session = make_session(SyncSection(), "t")
    assert session.verify is True and session.headers["Authorization"] == "Bearer t"


def test_a_damaged_heartbeat_reads_as_none(tmp_path: Path) -> None:
    assert read_heartbeat(tmp_path) is None
    (tmp_path / "heartbeat.json").write_text("{not json")
    assert read_heartbeat(tmp_path) is None
    (tmp_path / "heartbeat.json").write_text('{"at": "2026-06-01T09:00:00Z"}')
    assert read_heartbeat(tmp_path) is None
