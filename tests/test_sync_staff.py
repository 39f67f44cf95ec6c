"""The sync loop's staff calls against a small fake of the contract: heartbeat, help, notice phones, lookup."""

from __future__ import annotations

import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from test_sync_fakes import jpeg_bytes

from kiosk.config import SyncSection
from kiosk.store import NewRecord, Store
from kiosk.sync import SyncClient
from kiosk.sync.staff_calls import (
    LookupFailed,
    LookupUnsupported,
    lookup_student,
    push_contacts,
    push_help,
    send_heartbeat,
)
from tests.test_sync_fakes import TOKEN, write_token

JPEG = jpeg_bytes(2)
REASONS = {"lockout", "no_code", "camera_lost", "save_failed", "other"}


class ContractFake:
    """The station calls of CONTRACTS §3 as the server answers them; ``down`` answers 503 to everything."""

    def __init__(self) -> None:
        self.help: dict[str, dict[str, Any]] = {}
        self.beats: list[dict[str, Any]] = []
        self.contacts: dict[str, dict[str, Any]] = {}
        self.students: dict[tuple[str, str], dict[str, Any] | None] = {}
        self.uploaded: set[str] = set()
        self.down = False
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any], problem: bool = False) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/problem+json" if problem else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _problem(self, status: int) -> None:
                self._send(status, {"type": "about:blank", "title": f"status {status}", "status": status}, True)

            def _json(self) -> Any:
                return json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")

            def _refused(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._problem(401)
                    return True
                if fake.down:
                    self._problem(503)
                    return True
                return False

            def do_POST(self) -> None:
                body = self._json()
                if self._refused():
                    return
                if self.path == "/api/v1/stations/heartbeat":
                    if not isinstance(body.get("queue_length"), int) or body["queue_length"] < 0:
                        return self._problem(422)
                    fake.beats.append(body)
                    return self._send(200, {"station_id": "st-1", "received_at": body["sent_at"]})
                if self.path == "/api/v1/students/lookup":
                    return self._send(200, {"record": fake.students.get((body["batch"], body["student_uid"]))})
                self._problem(404)

            def do_PUT(self) -> None:
                body = self._json()
                if self._refused():
                    return
                parts = self.path.strip("/").split("/")
                if parts[:3] == ["api", "v1", "help"]:
                    request_id = parts[3]
                    if body.get("reason") not in REASONS:
                        return self._problem(422)
                    with fake.lock:
                        old = fake.help.get(request_id)
                        if old is not None:
                            same = {k: v for k, v in old.items() if k != "acknowledged_at"} == \
                                   {k: v for k, v in body.items() if k != "acknowledged_at"}
                            if not same:
                                return self._problem(422)
                        fake.help[request_id] = body
                    return self._send(201 if old is None else 200, {"request_id": request_id})
                if parts[:3] == ["api", "v1", "records"] and parts[-1] == "contact":
                    if parts[3] not in fake.uploaded:
                        return self._problem(404)
                    if body.get("consent") is not True:
                        return self._problem(422)
                    fake.contacts[parts[3]] = body
                    return self._send(200, {"record_id": parts[3]})
                self._problem(404)

        return Handler


@pytest.fixture
def fake() -> ContractFake:
    f = ContractFake()
    yield f
    f.close()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "data")
    yield s
    s.close()


@pytest.fixture
def sync_client(tmp_path: Path, fake: ContractFake, store: Store) -> SyncClient:
    cfg = SyncSection(server_url=fake.base_url, token_file=write_token(tmp_path), backoff_base_s=0.01)
    c = SyncClient(cfg, store, "st-1", rng=random.Random(1))
    yield c
    c.close()


def test_heartbeat_carries_version_and_queue_length(sync_client: SyncClient, fake: ContractFake,
                                                    store: Store) -> None:
    assert send_heartbeat(sync_client, 3, store.now())
    beat = fake.beats[-1]
    assert beat["queue_length"] == 3 and isinstance(beat["version"], str) and beat["sent_at"].endswith("Z")


def test_heartbeat_to_a_down_server_is_not_the_queue_error(sync_client: SyncClient, fake: ContractFake,
                                                           store: Store) -> None:
    fake.down = True
    assert not send_heartbeat(sync_client, 0, store.now())
    assert sync_client.last_error is None


def test_help_is_queued_while_down_then_raised_and_acknowledged(sync_client: SyncClient, fake: ContractFake,
                                                                store: Store) -> None:
    request = store.raise_help("lockout")
    fake.down = True
    assert push_help(sync_client) == 0
    assert [h.id for h in store.help_to_push()] == [request.id]
    fake.down = False
    assert push_help(sync_client) == 1
    assert fake.help[request.id]["reason"] == "lockout" and fake.help[request.id]["acknowledged_at"] is None
    store.acknowledge_help()
    assert push_help(sync_client) == 1
    assert fake.help[request.id]["acknowledged_at"] is not None
    assert store.help_to_push() == []


def test_run_once_sends_heartbeat_and_help(sync_client: SyncClient, fake: ContractFake, store: Store) -> None:
    store.raise_help("no_code")
    report = sync_client.run_once()
    assert report.heartbeat and report.help == 1 and len(fake.beats) == 1


def test_notice_phone_pushed_after_upload_and_kept_while_down(sync_client: SyncClient, fake: ContractFake,
                                                              store: Store) -> None:
    record = store.add_record(NewRecord(batch="1S95KT", station_id="st-1", code_payload="KC1.test", id_last4="123X",
                                              student_uid="U1"), JPEG)
    store.mark_sent(record.id, {"status": "queued"})
    store.set_contact(record.id, "13900139000")
    fake.uploaded.add(record.id)
    fake.down = True
    assert push_contacts(sync_client) == 0 and len(store.pending_contacts()) == 1
    fake.down = False
    assert push_contacts(sync_client) == 1
    assert fake.contacts[record.id] == {"phone": "13900139000", "consent": True}
    assert store.get(record.id).contact_state == "sent"  # type: ignore[union-attr]


def test_notice_phone_refused_for_good_is_marked_failed(sync_client: SyncClient, fake: ContractFake,
                                                        store: Store) -> None:
    record = store.add_record(NewRecord(batch="1S95KT", station_id="st-1", code_payload="KC1.test", id_last4="123X",
                                              student_uid="U1"), JPEG)
    store.mark_sent(record.id, {"status": "queued"})
    store.set_contact(record.id, "13900139000")
    assert push_contacts(sync_client) == 0  # the fake does not know the record: 404
    assert store.get(record.id).contact_state == "failed"  # type: ignore[union-attr]


def test_lookup_finds_a_record_made_elsewhere(sync_client: SyncClient, fake: ContractFake) -> None:
    fake.students[("1S95KT", "U7")] = {"record_id": "r-7", "status": "queued", "queue_position": 4,
                                       "reason": None, "captured_at": "2026-06-01T09:00:00Z", "station_id": "st-2"}
    found = lookup_student(sync_client, "1S95KT", "U7")
    assert found is not None and (found.status, found.queue_position, found.station_id) == ("queued", 4, "st-2")
    assert lookup_student(sync_client, "1S95KT", "U8") is None


def test_lookup_on_a_server_without_the_call_says_so(sync_client: SyncClient, fake: ContractFake) -> None:
    sync_client.base_url += "/old"  # every path 404s there, as on a server that predates the call
    with pytest.raises(LookupUnsupported):
        lookup_student(sync_client, "1S95KT", "U7")
    assert sync_client.last_error is None


def test_lookup_of_a_down_server_is_not_none(sync_client: SyncClient, fake: ContractFake) -> None:
    fake.down = True
    with pytest.raises(LookupFailed):
        lookup_student(sync_client, "1S95KT", "U7")


def test_lookup_answer_with_an_unknown_status_is_a_failure(sync_client: SyncClient, fake: ContractFake) -> None:
    fake.students[("1S95KT", "U7")] = {"record_id": "r-7", "status": "lost"}
    with pytest.raises(LookupFailed):
        lookup_student(sync_client, "1S95KT", "U7")


def test_help_stays_queued_on_a_server_without_the_call(sync_client: SyncClient, store: Store) -> None:
    request = store.raise_help("other")
    sync_client.base_url += "/old"  # 404 for every path, as on a server that predates the call
    assert push_help(sync_client) == 0
    assert [h.id for h in store.help_to_push()] == [request.id]  # offered again once the server has it
