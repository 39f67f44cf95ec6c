"""Two stations make the same claim ticket: the second adopts the server's, end to end on a real server."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from test_sync_fakes import jpeg_bytes

from kiosk import flow
from kiosk.batch import Batch
from kiosk.config import CodesSection, ServerConfig, ServerSection, SyncSection
from kiosk.station import records as station_records
from kiosk.station import staff as station_staff
from kiosk.station.records import Links, bind_code, find_ticket, save_record
from kiosk.store import Store
from kiosk.sync import SyncClient
from kiosk.tickets import display, new_ticket

embedded = pytest.importorskip("kiosk.server.embedded")
codes = pytest.importorskip("kiosk.codes")

_TODAY = datetime.now(UTC).date()
BATCH = Batch(feature_code="1S95KT", school_code="10001", school_name="示例大学",
              start_date=(_TODAY - timedelta(days=1)).isoformat(), end_date=(_TODAY + timedelta(days=1)).isoformat())


@dataclass(frozen=True)
class Shot:
    """A standard photo as the station's save takes it."""

    jpeg: bytes
    original_jpeg: bytes | None = None


def _station(tmp_path: Path, server: object, name: str) -> tuple[Store, SyncClient]:
    token_file = tmp_path / f"{name}.token"
    token_file.write_text(server.issue_station_token(name))  # type: ignore[attr-defined]
    os.chmod(token_file, 0o600)
    settings = SyncSection(server_url=server.base_url, token_file=token_file, read_timeout_s=10)  # type: ignore[attr-defined]
    store = Store.open(tmp_path / name)
    return store, SyncClient(settings, store, name)


def test_the_second_station_adopts_the_servers_ticket_and_binds_by_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    key_file = tmp_path / "code-keys.json"
    ring = codes.KeyRing.generate(key_file)
    students = codes.demo_codes(ring, BATCH, n=6)
    # two students whose last fours differ (what tells their records apart on a phone)
    first, second = next((a, b) for a in students for b in students
                         if codes.normalise_last_four(a.last_four) != codes.normalise_last_four(b.last_four))
    settings = CodesSection(key_file=key_file)
    book = codes.CodeBook.from_settings(settings)
    server_cfg = ServerConfig(server=ServerSection(data_dir=tmp_path / "server",
                                                   admin_token_file=tmp_path / "admin.token"), codes=settings)
    clashing = new_ticket()
    monkeypatch.setattr(station_records, "new_ticket", lambda: clashing)
    links = Links(public_url="https://photos.example.edu.cn")
    with embedded.EmbeddedServer(server_cfg) as server:
        server.add_batch(BATCH)
        store_a, sync_a = _station(tmp_path, server, "campus-a.st-1")
        store_b, sync_b = _station(tmp_path, server, "campus-b.st-1")
        with store_a, store_b:
            saved = []
            for store, station_id, student, seed in ((store_a, "campus-a.st-1", first, 1),
                                                     (store_b, "campus-b.st-1", second, 2)):
                who = flow.Student(code=None, id_last4=student.last_four, codeless=True, phone="13800138000")
                event = save_record(store, station_id, BATCH, who, Shot(jpeg_bytes(40, seed=seed)),
                                    keep_original=False, links=links)
                assert isinstance(event, flow.Saved)
                # the ticket is shown (and may leave with the student) before any sync
                assert event.receipt.ticket == clashing
                saved.append(event.receipt.record_id)
            record_a, record_b = saved

            assert sync_a.run_once().sent == 1
            with caplog.at_level(logging.INFO):
                assert sync_b.run_once().sent == 1
            b = store_b.get(record_b)
            assert b is not None and b.sync_state == "sent" and b.review_status == "awaiting_code"
            assert b.ticket == clashing and b.server_ticket and b.server_ticket != clashing
            assert b.claim_ticket == b.server_ticket and b.ticket_replaced
            adopted = b.server_ticket
            # logged by record id only: neither ticket is in the log
            assert "record.ticket_reassigned" in caplog.text
            assert clashing not in caplog.text and adopted not in caplog.text
            assert [e["kind"] for e in store_b.events(record_b)].count("ticket_reassigned") == 1
            a = store_a.get(record_a)
            assert a is not None and a.server_ticket is None and a.claim_ticket == clashing

            # a replay of the same record: the same acknowledgement, the same adopted ticket, nothing dead
            store_b.conn.execute("UPDATE records SET sync_state = 'pending' WHERE id = ?", (record_b,))
            assert sync_b.run_once().sent == 1
            again = store_b.get(record_b)
            assert again is not None and again.server_ticket == adopted and again.sync_state == "sent"
            assert [e["kind"] for e in store_b.events(record_b)].count("ticket_reassigned") == 1

            # everything that shows the ticket again shows the adopted one
            card = station_staff.find_records(store_b, display(adopted), "ticket")
            assert isinstance(card, flow.RecordsFound) and card.records[0].record_id == record_b
            assert card.records[0].ticket == adopted and card.records[0].ticket_replaced
            by_phone = station_staff.find_records(store_b, "13800138000", "phone")
            assert isinstance(by_phone, flow.RecordsFound) and by_phone.records[0].ticket == adopted
            assert station_records.receipt(again, links).ticket == adopted
            assert adopted in station_records.receipt(again, links).ticket_link.replace("-", "")

            # the student's status page (the Done screen's QR, made before the sync) shows the adopted ticket
            page = requests.get(f"{server.base_url}/s/{again.status_secret}", timeout=10)
            assert page.status_code == 200 and display(adopted) in page.text and display(clashing) not in page.text
            assert f"/bind?ticket={display(adopted)}" in page.text
            page_a = requests.get(f"{server.base_url}/s/{store_a.get(record_a).status_secret}", timeout=10)  # type: ignore[union-attr]
            assert display(clashing) in page_a.text and display(adopted) not in page_a.text

            # the old ticket finds nothing to bind at station B: on the server it is station A's record
            assert find_ticket(store_b, clashing) == flow.TicketRejected("flow.error.ticket_replaced")
            refused = station_staff.find_records(store_b, clashing, "ticket")
            assert refused == flow.RecordsUnavailable("flow.error.ticket_replaced")
            found = find_ticket(store_b, display(adopted).lower())
            assert isinstance(found, flow.TicketFound) and found.ticket == adopted

            # binding by the adopted ticket at station B reaches the right record on the server
            code_b = book.parse(second.payload, BATCH, datetime.now(UTC))
            bound = bind_code(store_b, adopted, code_b, links)
            assert isinstance(bound, flow.Bound) and bound.receipt.record_id == record_b
            assert sync_b.run_once().bindings == 1
            b = store_b.get(record_b)
            assert b is not None and b.binding_state == "sent" and b.review_status == "queued"

            # on the phone, the first student binds the original ticket to the first record
            answer = requests.post(f"{server.base_url}/api/v1/bind", timeout=10, json={
                "ticket": display(clashing), "code_payload": first.payload, "id_last4": first.last_four})
            assert answer.status_code == 200, answer.text
            assert answer.json()["record_id"] == record_a
            assert store_a.stats(datetime.now(UTC).astimezone().date())["dead"] == 0
            assert store_b.stats(datetime.now(UTC).astimezone().date())["dead"] == 0
            assert store_a.records(state="dead") == [] and store_b.records(state="dead") == []


def test_a_phone_holding_the_replaced_ticket_cannot_bind_the_other_students_record(tmp_path: Path) -> None:
    key_file = tmp_path / "code-keys.json"
    ring = codes.KeyRing.generate(key_file)
    students = codes.demo_codes(ring, BATCH, n=6)
    first, second = next((a, b) for a in students for b in students
                         if codes.normalise_last_four(a.last_four) != codes.normalise_last_four(b.last_four))
    server_cfg = ServerConfig(server=ServerSection(data_dir=tmp_path / "server",
                                                   admin_token_file=tmp_path / "admin.token"),
                              codes=CodesSection(key_file=key_file))
    clashing = new_ticket()
    with embedded.EmbeddedServer(server_cfg) as server:
        server.add_batch(BATCH)
        store_a, sync_a = _station(tmp_path, server, "campus-a.st-1")
        store_b, sync_b = _station(tmp_path, server, "campus-b.st-1")
        with store_a, store_b:
            from kiosk.store import NewRecord

            ids = []
            for store, name, student in ((store_a, "campus-a.st-1", first), (store_b, "campus-b.st-1", second)):
                ids.append(store.add_record(NewRecord(batch="1S95KT", station_id=name, codeless=True,
                                                      ticket=clashing, id_last4=student.last_four),
                                            jpeg_bytes(40, seed=len(ids) + 3)).id)
            assert sync_a.run_once().sent == 1 and sync_b.run_once().sent == 1
            adopted = store_b.get(ids[1]).server_ticket  # type: ignore[union-attr]
            assert adopted
            # the second student left with the clashed ticket and tries it on the phone: refused, as a wrong
            # last four would be (the answer never tells whether a ticket exists), and nothing is bound
            wrong = requests.post(f"{server.base_url}/api/v1/bind", timeout=10, json={
                "ticket": clashing, "code_payload": second.payload, "id_last4": second.last_four})
            assert wrong.status_code == 422 and wrong.json()["type"].endswith("wrong-last-four")
            status = server.state.records.statuses(ids)
            assert [s.status for s in status] == ["awaiting_code", "awaiting_code"]
            # with the ticket the station adopted (shown at its ticket desk) the phone binds the right record
            right = requests.post(f"{server.base_url}/api/v1/bind", timeout=10, json={
                "ticket": display(adopted), "code_payload": second.payload, "id_last4": second.last_four})
            assert right.status_code == 200, right.text
            assert right.json()["record_id"] == ids[1]


@pytest.mark.parametrize(("stored", "shown"), [("7KQ2M9XDM", "7KQ2-M9XD-M"), ("TICKET0001", "TICKET0001"),
                                               (None, ""), ("", "")])
def test_the_status_page_shows_the_stored_ticket_while_the_record_awaits_its_code(stored: object,
                                                                                   shown: str) -> None:
    from zoneinfo import ZoneInfo

    from kiosk.server.student_view import view_of

    row = {"record_id": "6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b", "status": "awaiting_code", "station_id": "st-1",
           "captured_at": "2026-06-01T09:00:00+00:00", "ticket": stored}
    view = view_of(row, None, retention_days=365, zone=ZoneInfo("Asia/Shanghai"), queue_position=None,
                   notify_phone=None)
    assert view.ticket == shown  # a ticket that is not one of ours is shown as stored, never a crash
    bound = view_of({**row, "status": "queued"}, None, retention_days=365, zone=ZoneInfo("Asia/Shanghai"),
                    queue_position=1, notify_phone=None)
    assert bound.ticket == ""  # once bound, the ticket has done its work
