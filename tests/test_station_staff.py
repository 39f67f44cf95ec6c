"""The station keeps its promises: staff calls, status anywhere, the status page, the slip, tickets, notices."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk import flow
from kiosk.codes.keyring import KeyRing
from kiosk.station import records as station_records
from kiosk.station.slip import Slip, qr_bytes, render
from kiosk.sync import SyncError
from kiosk.sync.staff_calls import LookupFailed, RemoteRecord
from kiosk.tickets import display, new_ticket
from tests.flow_fakes import batch
from tests.test_station import BATCH, T0, capture_photo, codeless_record, drive, make_station, operator, type_keys


@pytest.fixture
def keys() -> KeyRing:
    return KeyRing.new()


@pytest.fixture
def students(keys: KeyRing) -> list[Any]:
    from kiosk.codes import demo_codes

    return demo_codes(keys, BATCH, n=4, now=T0 - timedelta(days=3))


class Server:
    """The lookup a second station asks (CONTRACTS §3c): a record per student, or down."""

    def __init__(self) -> None:
        self.records: dict[str, RemoteRecord] = {}
        self.down = False
        self.asked: list[tuple[str, str]] = []

    def __call__(self, batch_code: str, student_uid: str) -> RemoteRecord | None:
        self.asked.append((batch_code, student_uid))
        if self.down:
            raise LookupFailed("network ConnectionError")
        return self.records.get(student_uid)


def station_with(tmp_path: Path, keys: KeyRing, **parts: Any) -> Any:
    station = make_station(tmp_path, keys)
    for name, value in parts.items():
        setattr(station.parts, name, value)
    return station


def scan(station: Any, state: flow.State, payload: str) -> flow.State:
    [scanned] = station.on_frame(flow.frame_use(state), "QR:" + payload, 0.0)
    return drive(station, state, scanned)[0]


# -- calls for staff -------------------------------------------------------------------------


def test_a_call_for_staff_is_stored_shown_everywhere_and_acknowledged(tmp_path: Path, keys: KeyRing) -> None:
    rang: list[str] = []
    station = station_with(tmp_path, keys, call_staff=rang.append)
    store = station.parts.store
    state, _ = drive(station, station.initial_state(), flow.StartTapped(), flow.NoCodeTapped())
    assert rang == ["no_code"] and state.ctx.staff_alert == "no_code"
    assert [h.reason for h in store.open_help()] == ["no_code"]
    state, _ = drive(station, state, flow.BackTapped())
    assert isinstance(state, flow.Welcome) and state.ctx.staff_alert == "no_code"  # the banner stays
    # a restart keeps the call open
    assert make_station(tmp_path, keys, store=store).initial_state().ctx.staff_alert == "no_code"
    state, _ = drive(station, state, flow.OperatorRequested(), *type_keys("0000"))
    assert isinstance(state, flow.OperatorMenu)
    state, _ = drive(station, state, flow.MenuChosen(flow.MENU_HELP_DONE))
    assert state.ctx.staff_alert is None and state.notice == "flow.operator.help_acknowledged"
    assert store.open_help() == [] and [h.acknowledged_at is not None for h in store.help_to_push()] == [True]


def test_a_locked_code_calls_staff_as_lockout(tmp_path: Path, keys: KeyRing, students: list[Any]) -> None:
    station = make_station(tmp_path, keys)
    state, _ = drive(station, station.initial_state(), flow.StartTapped())
    state = scan(station, state, students[0].payload)
    for _ in range(3):
        state, _ = drive(station, state, *type_keys("0000"))
    assert isinstance(state, flow.ScanCode) and state.ctx.staff_alert == "code_locked"
    assert [h.reason for h in station.parts.store.open_help()] == ["lockout"]
    # staff check the student's ID and lift the lock, behind the PIN and audited
    state, _ = drive(station, state, flow.StaffOverrideTapped())
    assert isinstance(state, flow.PinEntry) and state.unlock is not None
    state, _ = drive(station, state, *type_keys("0000"))
    assert isinstance(state, flow.Verify) and not state.busy
    assert [e["kind"] for e in station.parts.store.station_log()] == ["code_unlocked"]
    # the staff who unlocked it answered the call: the banner goes, the coordinator hears it was acknowledged
    assert state.ctx.staff_alert is None and station.parts.store.open_help() == []
    state, _ = drive(station, state, *type_keys(students[0].last_four))
    assert isinstance(state, flow.Confirm)


# -- status anywhere ----------------------------------------------------------------------------


def test_status_of_a_record_taken_at_another_station(tmp_path: Path, keys: KeyRing, students: list[Any]) -> None:
    server = Server()
    me = students[1]
    server.records[me_uid(station_with(tmp_path, keys), me.payload)] = RemoteRecord(
        "0a1b2c3d-0000-4000-8000-000000000000", "queued", 5, None, None, "station-02")
    station = station_with(tmp_path, keys, lookup_remote=server)
    state, _ = drive(station, station.initial_state(), flow.StatusTapped())
    state = scan(station, state, me.payload)
    assert isinstance(state, flow.StatusShown) and state.view is not None
    assert (state.view.status, state.view.queue_position, state.view.refreshed) == ("queued", 5, True)
    assert server.asked == [(batch().feature_code, me_uid(station, me.payload))]
    assert not state.may_start()


def me_uid(station: Any, payload: str) -> str:
    return station.parts.codebook.parse(payload, None, station.parts.clock()).student_uid


def test_status_when_the_server_cannot_be_asked_is_not_none(tmp_path: Path, keys: KeyRing,
                                                           students: list[Any]) -> None:
    server = Server()
    server.down = True
    station = station_with(tmp_path, keys, lookup_remote=server)
    state, _ = drive(station, station.initial_state(), flow.StatusTapped())
    state = scan(station, state, students[1].payload)
    assert isinstance(state, flow.StatusShown) and state.error == "flow.status.server_unasked"
    assert state.view is None and state.code is None  # no "start" offered on an unknown


def test_second_station_refuses_a_second_capture(tmp_path: Path, keys: KeyRing, students: list[Any]) -> None:
    server = Server()
    me = students[0]
    station = station_with(tmp_path, keys, lookup_remote=server)
    server.records[me_uid(station, me.payload)] = RemoteRecord("9f000000-0000-4000-8000-000000000000", "approved")
    state, _ = drive(station, station.initial_state(), flow.StartTapped())
    state = scan(station, state, me.payload)
    assert isinstance(state, flow.StatusShown) and state.view is not None and state.view.status == "approved"
    assert state.error == "flow.status.already_captured" and not state.may_start()


def test_a_rejected_photo_elsewhere_may_be_retaken(tmp_path: Path, keys: KeyRing, students: list[Any]) -> None:
    server = Server()
    me = students[0]
    station = station_with(tmp_path, keys, lookup_remote=server)
    server.records[me_uid(station, me.payload)] = RemoteRecord("9f000000-0000-4000-8000-000000000000", "rejected")
    state, _ = drive(station, station.initial_state(), flow.StartTapped())
    assert isinstance(scan(station, state, me.payload), flow.Verify)


def test_server_down_at_capture_lets_staff_decide(tmp_path: Path, keys: KeyRing, students: list[Any]) -> None:
    server = Server()
    server.down = True
    me = students[0]
    station = station_with(tmp_path, keys, lookup_remote=server)
    state, _ = drive(station, station.initial_state(), flow.StartTapped())
    state = scan(station, state, me.payload)
    assert isinstance(state, flow.ScanCode) and state.unconfirmed is not None  # no silent second capture
    assert state.error == "flow.error.server_unasked"
    state, _ = drive(station, state, flow.NoCodeTapped())  # "call staff" stays available: no dead end
    assert state.ctx.staff_alert == "no_code"
    state, _ = drive(station, state, flow.StaffOverrideTapped())
    assert isinstance(state, flow.PinEntry) and state.resume is not None
    state, _ = drive(station, state, *type_keys("1111"))
    assert isinstance(state, flow.PinEntry)  # a student cannot let themselves through
    state, _ = drive(station, state, *type_keys("0000"))
    assert isinstance(state, flow.Verify) and state.code.student_uid == me_uid(station, me.payload)


# -- the Done screen: status page, notice, slip ----------------------------------------------------


def capture(station: Any, student: Any) -> flow.Done:
    state, _ = drive(station, station.initial_state(), flow.StartTapped())
    state = scan(station, state, student.payload)
    state, _ = drive(station, state, *type_keys(student.last_four), flow.ThatsMeTapped(), flow.AgreeTapped())
    state = capture_photo(station, state)
    state, _ = drive(station, state, flow.AcceptTapped())
    assert isinstance(state, flow.Done)
    return state


def test_the_status_qr_is_the_students_capability(tmp_path: Path, keys: KeyRing, students: list[Any]) -> None:
    station = station_with(tmp_path, keys, public_url="https://photos.example.edu.cn/")
    done = capture(station, students[0])
    record = station.parts.store.get(done.receipt.record_id)
    assert record.status_secret is not None and len(record.status_secret) >= 32
    assert done.receipt.status_link == f"https://photos.example.edu.cn/s/{record.status_secret}"
    assert record.id not in done.receipt.status_link  # never something guessable
    assert done.receipt.check_until == "2026-07-01" and done.receipt.has_code
    assert record.metadata()["status_secret"] == record.status_secret


def test_a_phone_for_the_review_result_is_kept_with_consent(tmp_path: Path, keys: KeyRing,
                                                            students: list[Any]) -> None:
    station = make_station(tmp_path, keys)
    done = capture(station, students[0])
    state, _ = drive(station, done, flow.ContactTapped(), *[flow.KeyPressed(k) for k in "1380013800"],
                     flow.SubmitTapped())
    assert state.error == "flow.error.mobile_invalid" and state.contact_open
    state, _ = drive(station, state, flow.KeyPressed("0"), flow.SubmitTapped())
    assert state.contact_saved and not state.contact_open and state.phone == ""
    record = station.parts.store.get(done.receipt.record_id)
    assert record.contact_phone == "13800138000" and record.contact_state == "pending"


def test_a_codeless_student_gets_no_notice_offer_and_keeps_the_ticket(tmp_path: Path, keys: KeyRing) -> None:
    station = station_with(tmp_path, keys, public_url="https://photos.example.edu.cn")
    state, _ = drive(station, operator(station), flow.MenuChosen(flow.MENU_CODELESS),
                     flow.FieldEdited("phone", "13800138000"), flow.FieldEdited("id_last4", "1234"),
                     flow.SubmitTapped(), flow.AgreeTapped())
    state = capture_photo(station, state)
    state, _ = drive(station, state, flow.AcceptTapped())
    assert isinstance(state, flow.Done) and not state.receipt.has_code
    assert state.receipt.ticket_link == f"https://photos.example.edu.cn/bind?ticket={state.receipt.ticket_display}"
    assert drive(station, state, flow.ContactTapped())[0] == state
    assert flow.timeout_of(state) == float("inf")
    state, _ = drive(station, state, flow.TicketHandedTapped(), flow.FinishTapped())
    assert isinstance(state, flow.Welcome)


def test_the_slip_is_printed_and_a_printer_error_is_a_note(tmp_path: Path, keys: KeyRing,
                                                           students: list[Any]) -> None:
    printer = tmp_path / "lp0"
    printer.write_bytes(b"")
    station = station_with(tmp_path, keys, receipt_printer=str(printer), public_url="https://p.example",
                           help_phone="400-000-0000")
    done = capture(station, students[0])
    data = printer.read_bytes()
    assert data.startswith(b"\x1b@") and done.receipt.status_link.encode() in data
    assert "客服电话 400-000-0000".encode("gb18030") in data and done.receipt.print_note is None
    station.parts.receipt_printer = str(tmp_path / "no" / "printer")
    done = capture(station, students[1])
    assert done.receipt.print_note == "staff.slip.failed"  # saved all the same


def test_a_ticket_replaced_at_sync_is_printed_again(tmp_path: Path, keys: KeyRing) -> None:
    printer = tmp_path / "lp0"
    printer.write_bytes(b"")
    station = station_with(tmp_path, keys, receipt_printer=str(printer), public_url="https://p.example")
    record = codeless_record(station, "1234")
    store = station.parts.store
    given = new_ticket()
    store.lease_next("w", 60, store.now())
    store.mark_sent(record.id, {"status": "awaiting_code", "queue_position": None, "ticket": given})
    done = flow.Done(ctx=station.initial_state().ctx, receipt=station_records.receipt(record, station.links),
                     ticket_confirmed=True)
    printer.write_bytes(b"")
    state, _ = drive(station, done, flow.Tick(0.0), flow.Tick(1.0))
    assert isinstance(state, flow.Done) and state.receipt.ticket == given and not state.may_finish
    data = printer.read_bytes()
    assert display(given).encode() in data and display(record.ticket).encode() not in data
    station.parts.receipt_printer = str(tmp_path / "no" / "printer")
    assert station.execute(flow.PrintSlip(state.receipt)) == [flow.SlipFailed()]


def test_slip_bytes_hold_the_ticket_and_its_bind_link() -> None:
    data = render(Slip(short_id="ABCD1234", ticket_display="ABCD-EFGH-0", ticket_link="https://p/bind?ticket=X"))
    assert b"ABCD-EFGH-0" in data and qr_bytes("https://p/bind?ticket=X") in data
    assert data.endswith(b"\x1dV\x42\x00")


# -- staff find codeless records ------------------------------------------------------------------


def test_the_ticket_desk_finds_by_phone_and_ticket_and_lists_the_waiting(tmp_path: Path, keys: KeyRing) -> None:
    station = station_with(tmp_path, keys, public_url="https://p.example")
    record = codeless_record(station, "1234")
    state, _ = drive(station, operator(station), flow.MenuChosen(flow.MENU_TICKETS))
    assert isinstance(state, flow.TicketDesk) and flow.frame_use(state) == "scan"
    state, _ = drive(station, state, *[flow.KeyPressed(k) for k in "13800138000"], flow.SubmitTapped())
    assert state.shown is not None and state.shown.ticket == record.ticket and state.shown.phone_tail == "8000"
    state, _ = drive(station, state, flow.BackTapped(), flow.MenuChosen("waiting"))
    assert state.listed and [c.ticket for c in state.records] == [record.ticket]
    state, _ = drive(station, state, flow.RecordChosen(0))
    assert state.shown == state.records[0]
    link = f"https://p.example/bind?ticket={state.shown.ticket_display}"
    state, _ = drive(station, state, flow.BackTapped(), flow.CodeScanned(link))
    assert state.shown is not None and state.shown.ticket == record.ticket  # the ticket's QR opens it
    state, _ = drive(station, state, flow.MenuChosen("ticket"), *[flow.KeyPressed(k) for k in "ZZZZZZZZZ"],
                     flow.SubmitTapped())
    assert state.error in {"ticket.typo", "ticket.symbol"}


def test_an_unknown_feature_code_is_not_reported_as_the_server_down(tmp_path: Path, keys: KeyRing) -> None:
    def fetch(code: str) -> Any:
        raise SyncError("sync.batch_unknown", "http 404", code=code)

    station = make_station(tmp_path, keys, fetch=fetch)
    state, _ = drive(station, operator(station), flow.MenuChosen(flow.MENU_BATCH))
    assert state.loaded is None  # nothing fetched yet: the screen must not say "fetched"
    state, _ = drive(station, state, flow.FieldEdited("feature_code", "NOPE99"), flow.SubmitTapped())
    assert state.error == "flow.error.batch_not_found" and dict(state.error_params) == {"code": "NOPE99"}


@pytest.mark.parametrize("reason", ["code_locked", "no_code", "camera_lost", "save_failed", "mystery"])
def test_help_reasons_map_to_the_servers(reason: str) -> None:
    from kiosk.station.staff import help_reason

    assert help_reason(reason) in {"lockout", "no_code", "camera_lost", "save_failed", "other"}


def test_a_server_without_the_lookup_does_not_block_students(tmp_path: Path, keys: KeyRing,
                                                             students: list[Any]) -> None:
    from kiosk.sync.staff_calls import LookupUnsupported

    def old_server(batch_code: str, student_uid: str) -> None:
        raise LookupUnsupported("http 404")

    station = station_with(tmp_path, keys, lookup_remote=old_server)
    state, _ = drive(station, station.initial_state(), flow.StartTapped())
    assert isinstance(scan(station, state, students[0].payload), flow.Verify)
