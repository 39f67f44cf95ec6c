"""The session controller with the real code book, attempt lock, store, tickets and PIN lock.

Only the portrait side (analyzer, auto-capture, make_photo) is faked: the
controller's job there is to route frames and results, tested here; the
portrait package has its own tests.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk import flow
from kiosk.codes import CodeBook, KeyRing, demo_codes
from kiosk.codes.attempts import AttemptLock
from kiosk.config import CodesSection, OperatorSection
from kiosk.operator import PinLock, hash_pin
from kiosk.station import Station, StationParts
from kiosk.station.batches import BatchSource
from kiosk.store import DiskFull, Store
from kiosk.sync import SyncError
from kiosk.sync.batchcache import save_batch
from kiosk.text import text
from kiosk.tickets import display, new_ticket
from tests.flow_fakes import CODE, PHOTO, SETTINGS, FakePhoto, batch

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
BATCH = batch()


class Clock:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Analysis:
    face: Any = (1, 2, 3, 4)

    def first_hint(self) -> str | None:
        return None if self.face else "portrait.hint.no_face"


class FakeAnalyzer:
    def __init__(self) -> None:
        self.leaves: list[bool] = []  # allow_headwear of each frame analysed

    def analyse(self, frame_bgr: Any, now: float | None = None, *, allow_headwear: bool = False) -> Analysis:
        self.leaves.append(allow_headwear)
        return Analysis(face=None if frame_bgr == "empty" else (1, 2, 3, 4))

    def reset(self) -> None:
        pass


@dataclass
class Shot:
    phase: str
    count: int = 0
    hint_key: str | None = None
    frame: Any = None
    analysis: Any = None
    progress: float = 0.0


class FakeAutoCapture:
    """Shoots on the third framed frame."""

    def __init__(self) -> None:
        self.seen = 0
        self.last: Any = None

    def update(self, analysis: Analysis, frame: Any, now: float) -> Shot:
        if analysis.face is None:
            self.seen = 0
            return Shot("waiting", hint_key="portrait.hint.no_face")
        self.seen += 1
        self.last = frame
        if self.seen >= 3:
            return Shot("shoot", frame=frame)
        return Shot("countdown", count=3 - self.seen)

    def shoot_now(self) -> Shot:
        if self.last is None:
            return Shot("waiting")
        return Shot("shoot", frame=self.last)


def fake_make_photo(capture: Any, analysis: Any, settings: Any) -> FakePhoto:
    if capture == "off-centre":
        from kiosk.errors import KioskError

        raise KioskError("portrait.hint.move_centre")
    return PHOTO


class FakeScanner:
    def feed(self, frame: Any, now: float) -> str | None:
        if isinstance(frame, str) and frame.startswith("QR:"):
            return frame[3:]
        return None

    def forget(self) -> None:
        pass


@pytest.fixture
def keys() -> KeyRing:
    return KeyRing.new()


@pytest.fixture
def students(keys: KeyRing) -> list[Any]:
    return demo_codes(keys, BATCH, n=4, now=T0 - timedelta(days=3))


def make_station(tmp_path: Path, keys: KeyRing, clock: Clock | None = None, *, store: Any = None,
                 refresh: Any = None, pin_hash: str = "", fetch: Any = None) -> Station:
    clock = clock or Clock()
    data = tmp_path / "data"
    save_batch(data, BATCH)
    codes = CodesSection(max_attempts=3, lock_minutes=10.0)
    parts = StationParts(
        station_id="station-07",
        flow=SETTINGS,
        store=store or Store.open(data, clock=clock),
        codebook=CodeBook(codes, keys),
        attempts=AttemptLock.from_settings(codes, data),
        pin_lock=PinLock.from_settings(OperatorSection(pin_hash=pin_hash), data, clock=lambda: clock().timestamp()),
        batches=BatchSource(data, BATCH.feature_code, fetch),
        scanner=FakeScanner(),
        analyzer=FakeAnalyzer(),
        make_autocapture=FakeAutoCapture,
        make_photo=fake_make_photo,
        refresh_status=refresh,
        status_url="https://photos.example.edu.cn/status/{record_id}",
        clock=clock,
    )
    return Station(parts)


def drive(station: Station, state: flow.State, *events: flow.Event) -> tuple[flow.State, list[flow.Effect]]:
    done: list[flow.Effect] = []
    for event in events:
        state, effects = station.dispatch(state, event)
        done.extend(effects)
    return state, done


def type_keys(text: str) -> list[flow.Event]:
    return [flow.KeyPressed(k) for k in text] + [flow.SubmitTapped()]


def capture_photo(station: Station, state: flow.State) -> flow.State:
    """Feed framed frames until auto-capture shoots; the state on Review."""
    purpose = flow.frame_use(state)
    assert purpose == "portrait"
    for i in range(3):
        for event in station.on_frame(purpose, f"frame-{i}", float(i)):
            state, _ = station.dispatch(state, event)
    return state


def test_a_student_from_welcome_to_done(tmp_path: Path, keys: KeyRing, students: list[Any], caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="kiosk")
    station = make_station(tmp_path, keys)
    state = station.initial_state()
    assert state.ctx.batch == BATCH and state.ctx.demo_pin
    me = students[0]
    state, _ = drive(station, state, flow.StartTapped())
    [scanned] = station.on_frame(flow.frame_use(state), "QR:" + me.payload, 0.0)
    state, _ = drive(station, state, scanned)
    assert isinstance(state, flow.Verify) and state.code.student_number == me.student_number
    state, _ = drive(station, state, *type_keys(me.last_four.lower()))
    assert isinstance(state, flow.Confirm) and state.student.id_last4 == me.last_four
    state, _ = drive(station, state, flow.ThatsMeTapped(), flow.AgreeTapped())
    assert isinstance(state, flow.Capture)
    events = station.on_frame("portrait", "empty", 0.0)
    assert events == [flow.Guidance("waiting", 0, "portrait.hint.no_face", face=False)]
    state = capture_photo(station, state)
    assert isinstance(state, flow.Review) and state.photo is PHOTO
    state, effects = drive(station, state, flow.AcceptTapped())
    assert isinstance(state, flow.Done), state
    assert [type(e).__name__ for e in effects] == ["SaveRecord", "WipeSession", "LookupReceipt"]
    receipt = state.receipt
    record = station.parts.store.get(receipt.record_id)
    assert record is not None and record.code_payload == me.payload and record.id_last4 == me.last_four
    assert record.batch == BATCH.feature_code and record.station_id == "station-07" and not record.codeless
    assert record.code_fields["masked_name"] == me.masked_name
    assert receipt.short_id == record.id.replace("-", "")[:8].upper()
    assert receipt.status_link == f"https://photos.example.edu.cn/status/{record.id}"
    assert receipt.ticket is None
    state, _ = drive(station, state, flow.FinishTapped())
    assert state == flow.Welcome(ctx=state.ctx)
    assert me.payload not in caplog.text and me.masked_name not in caplog.text


def test_foreign_garbled_and_other_school_codes(tmp_path: Path, keys: KeyRing) -> None:
    station = make_station(tmp_path, keys)
    state, _ = drive(station, station.initial_state(), flow.StartTapped())
    other_school = demo_codes(keys, batch(school_code="99999", school_name="别的大学"), n=1, now=T0)[0]
    foreign_keys = demo_codes(KeyRing.new(), BATCH, n=1, now=T0)[0]
    cases = {
        "https://weixin.qq.com/x": "code.not_a_code",
        other_school.payload: "code.wrong_batch",
        foreign_keys.payload: "code.unknown_key",
        other_school.payload[:-6] + "AAAAAA": "code.damaged",
    }
    for payload, key in cases.items():
        state, _ = drive(station, state, flow.CodeScanned(payload))
        assert isinstance(state, flow.ScanCode) and state.error == key, (key, state.error)
        if key == "code.wrong_batch":
            # the student is told which school the code is for and which school today is for
            shown = text(key, "zh", **flow.message_params(state))
            assert "别的大学" in shown and BATCH.school_name in shown


def test_a_ticket_shown_as_a_code_is_explained(tmp_path: Path, keys: KeyRing) -> None:
    from kiosk.tickets import display, new_ticket

    station = make_station(tmp_path, keys)
    state, _ = drive(station, station.initial_state(), flow.StartTapped(), flow.CodeScanned(display(new_ticket())))
    assert state.error == "flow.error.ticket_not_code"


def test_three_misses_lock_the_code_across_restarts(tmp_path: Path, keys: KeyRing, students: list[Any]) -> None:
    clock = Clock()
    station = make_station(tmp_path, keys, clock)
    me = students[1]
    state, _ = drive(station, station.initial_state(), flow.StartTapped(), flow.CodeScanned(me.payload))
    lefts = []
    for _ in range(2):
        state, _ = drive(station, state, *type_keys("0000"))
        lefts.append(state.tries_left)
    assert lefts == [2, 1]
    state, effects = drive(station, state, *type_keys("0000"))
    assert isinstance(state, flow.ScanCode) and state.error == "flow.error.code_locked"
    assert flow.CallStaff(reason="code_locked") in effects
    again = make_station(tmp_path, keys, clock)  # a restarted app
    state, _ = drive(again, again.initial_state(), flow.StartTapped(), flow.CodeScanned(me.payload))
    assert isinstance(state, flow.ScanCode) and state.error == "code.locked"
    clock.now += timedelta(minutes=11)
    state, _ = drive(again, state, flow.CodeScanned(me.payload), *type_keys(me.last_four))
    assert isinstance(state, flow.Confirm)


def test_camera_lost_mid_capture_resumes(tmp_path: Path, keys: KeyRing, students: list[Any]) -> None:
    station = make_station(tmp_path, keys)
    state, _ = drive(station, station.initial_state(), flow.StartTapped(), flow.CodeScanned(students[0].payload),
                     *type_keys(students[0].last_four), flow.ThatsMeTapped(), flow.AgreeTapped())
    station.on_frame("portrait", "frame-a", 0.0)
    state, effects = drive(station, state, flow.CameraLost())
    assert state.error == "flow.error.camera_lost" and flow.frame_use(state) is None
    state, effects = drive(station, state, flow.ShutterTapped())
    assert effects == []
    state, _ = drive(station, state, flow.CameraBack())
    assert isinstance(state, flow.Capture) and state.error is None
    state = capture_photo(station, state)
    assert isinstance(state, flow.Review)


def test_tap_to_shoot_uses_the_latest_frame_and_framing_errors_are_hints(tmp_path: Path, keys: KeyRing) -> None:
    station = make_station(tmp_path, keys)
    capture = flow.Capture(ctx=station.initial_state().ctx, student=flow.Student(code=CODE, id_last4="1234"))
    state, _ = drive(station, capture, flow.ShutterTapped())
    assert state.error == "flow.error.photo_failed"  # no frame yet
    station.on_frame("portrait", "off-centre", 0.0)
    state, _ = drive(station, state, flow.ShutterTapped())
    assert isinstance(state, flow.Capture) and state.error == "portrait.hint.move_centre"
    station.on_frame("portrait", "frame-b", 0.1)
    state, _ = drive(station, state, flow.ShutterTapped())
    assert isinstance(state, flow.Review)


def test_a_crashing_part_never_leaves_the_screen_busy(tmp_path: Path, keys: KeyRing) -> None:
    station = make_station(tmp_path, keys)

    def broken(*args: Any) -> Any:
        raise ValueError("bug")

    station.parts.make_photo = broken
    assert station.execute(flow.TakePhoto(capture="x")) == [flow.PhotoFailed("error.unexpected")]


class FullDisk:
    """A store whose disk is full until ``fixed``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.fixed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def add_record(self, *args: Any, **kwargs: Any) -> Any:
        if not self.fixed:
            raise DiskFull(detail="test")
        return self.store.add_record(*args, **kwargs)


def test_disk_full_on_save_says_so_and_retry_works(tmp_path: Path, keys: KeyRing, students: list[Any]) -> None:
    clock = Clock()
    disk = FullDisk(Store.open(tmp_path / "data", clock=clock))
    station = make_station(tmp_path, keys, clock, store=disk)
    review = flow.Review(ctx=station.initial_state().ctx, student=flow.Student(code=CODE, id_last4="1234"),
                         photo=PHOTO)
    state, _ = drive(station, review, flow.AcceptTapped())
    assert isinstance(state, flow.Saving) and state.error == "flow.error.not_saved_disk_full" and not state.busy
    assert disk.store.records() == []
    disk.fixed = True
    state, _ = drive(station, state, flow.RetryTapped())
    assert isinstance(state, flow.Done) and len(disk.store.records()) == 1


def test_status_lookup_local_and_refreshed(tmp_path: Path, keys: KeyRing, students: list[Any]) -> None:
    calls: list[int] = []
    me = students[2]

    def server_down() -> object:
        calls.append(1)
        raise SyncError("sync.batch_unavailable", "ConnectionError")

    station = make_station(tmp_path, keys, refresh=server_down)
    state, _ = drive(station, station.initial_state(), flow.StatusTapped(), flow.CodeScanned(me.payload))
    assert isinstance(state, flow.StatusShown) and state.error == "flow.status.none" and state.may_start()
    assert calls == []  # nothing to refresh
    # the student is captured; the server is down: nothing changes for them
    state, _ = drive(station, state, flow.StartTapped(), *type_keys(me.last_four), flow.ThatsMeTapped(),
                     flow.AgreeTapped())
    state = capture_photo(station, state)
    state, _ = drive(station, state, flow.AcceptTapped())
    assert isinstance(state, flow.Done)
    state, _ = drive(station, state, flow.FinishTapped(), flow.StatusTapped(), flow.CodeScanned(me.payload))
    assert isinstance(state, flow.StatusShown) and state.view is not None
    assert (state.view.status, state.view.refreshed) == ("pending", False) and calls == [1]
    record = station.parts.store.records()[0]

    def server_up() -> object:
        station.parts.store.set_review(record.id, "queued", 17, None)
        return 1

    station.parts.refresh_status = server_up
    state, _ = drive(station, state, flow.CodeScanned(me.payload))
    assert state.view == flow.StatusView(short_id=record.id.replace("-", "")[:8].upper(), status="queued",
                                         queue_position=17, refreshed=True)
    [refreshed] = station.execute(flow.LookupReceipt(record.id))
    assert isinstance(refreshed, flow.ReceiptRefreshed) and refreshed.receipt.queue_position == 17


def test_operator_pin_locks_across_restarts(tmp_path: Path, keys: KeyRing) -> None:
    clock = Clock()
    hashed = hash_pin("2468", iterations=1000)
    station = make_station(tmp_path, keys, clock, pin_hash=hashed)
    state, _ = drive(station, station.initial_state(), flow.OperatorRequested())
    assert not state.ctx.demo_pin
    for left in (4, 3, 2, 1):
        state, _ = drive(station, state, *type_keys("1111"))
        assert state.tries_left == left
    state, _ = drive(station, state, *type_keys("1111"))
    # the first lock is short; the next ones grow
    assert state.error == "flow.operator.locked" and state.locked_minutes == 1
    again = make_station(tmp_path, keys, clock, pin_hash=hashed)
    state, _ = drive(again, again.initial_state(), flow.OperatorRequested(), *type_keys("2468"))
    assert isinstance(state, flow.PinEntry) and state.error == "flow.operator.locked"
    clock.now += timedelta(minutes=6)
    state, _ = drive(again, state, *type_keys("2468"))
    assert isinstance(state, flow.OperatorMenu)


def operator(station: Station) -> flow.State:
    state, _ = drive(station, station.initial_state(), flow.OperatorRequested(), *type_keys("0000"))
    assert isinstance(state, flow.OperatorMenu)
    return state


def codeless_record(station: Station, last_four: str) -> Any:
    """A codeless capture with ``last_four`` typed; its record."""
    state, _ = drive(station, operator(station), flow.MenuChosen(flow.MENU_CODELESS),
                     flow.FieldEdited("phone", "13800138000"), flow.FieldEdited("id_last4", last_four),
                     flow.SubmitTapped(), flow.AgreeTapped())
    state = capture_photo(station, state)
    state, _ = drive(station, state, flow.AcceptTapped())
    assert isinstance(state, flow.Done) and state.receipt.ticket is not None
    return station.parts.store.find_by_ticket(state.receipt.ticket)


def test_done_shows_the_ticket_sync_adopted_while_the_student_is_still_there(
        tmp_path: Path, keys: KeyRing) -> None:
    station = make_station(tmp_path, keys)
    store = station.parts.store
    state, _ = drive(station, operator(station), flow.MenuChosen(flow.MENU_CODELESS),
                     flow.FieldEdited("phone", "13800138000"), flow.FieldEdited("id_last4", "3(7)"),
                     flow.SubmitTapped(), flow.AgreeTapped())
    state, _ = drive(station, capture_photo(station, state), flow.AcceptTapped(), flow.TicketHandedTapped())
    assert isinstance(state, flow.Done) and state.may_finish
    own = state.receipt.ticket
    # the sync process meanwhile: the server had the ticket from another station and gave this record another
    given = new_ticket()
    store.lease_next("w", 60, store.now())
    store.mark_sent(state.receipt.record_id, {"status": "awaiting_code", "queue_position": None, "ticket": given})
    state, _ = drive(station, state, flow.Tick(100.0), flow.Tick(103.0))
    assert isinstance(state, flow.Done) and state.ticket_replaced and not state.may_finish
    assert state.receipt.ticket == given != own and state.receipt.ticket_display == display(given)
    assert display(given) in state.receipt.ticket_link  # the QR too (no public address here: the ticket itself)


def test_binding_another_students_code_needs_a_second_confirmation_and_is_audited(
        tmp_path: Path, keys: KeyRing, students: list[Any]) -> None:
    station = make_station(tmp_path, keys)
    store = station.parts.store
    record = codeless_record(station, "3(7)")
    other = students[0]  # last four 123X: not the student photographed
    state, _ = drive(station, operator(station), flow.MenuChosen(flow.MENU_BIND), flow.CodeScanned(record.ticket),
                     flow.CodeScanned(other.payload), *type_keys(other.last_four))
    assert state.stage == "confirm" and state.mismatch and state.error == "flow.error.bind_mismatch"
    refused = station.execute(flow.BindCode(ticket=record.ticket, code=state.code, typed=other.last_four,
                                            confirmed=True))
    assert refused == [flow.BindFailed("flow.error.bind_mismatch")] and store.get(record.id).code_payload is None
    state, _ = drive(station, state, flow.SubmitTapped())
    assert state.stage == "override" and store.get(record.id).code_payload is None
    state, _ = drive(station, state, flow.StaffOverrideTapped())
    assert state.stage == "done" and store.get(record.id).code_payload == other.payload
    assert [e["kind"] for e in store.station_log()] == ["bind_override"]
    assert store.events(record.id)[-1]["kind"] == "bind_override"


def test_codeless_capture_then_binding_at_the_station(tmp_path: Path, keys: KeyRing, students: list[Any]) -> None:
    station = make_station(tmp_path, keys)
    store = station.parts.store
    state, _ = drive(station, operator(station), flow.MenuChosen(flow.MENU_CODELESS),
                     flow.FieldEdited("phone", "138-0000"), flow.FieldEdited("id_last4", "３(7)"),
                     flow.SubmitTapped())
    assert isinstance(state, flow.CodelessForm) and state.invalid_field == "phone"
    state, _ = drive(station, state, flow.FieldEdited("phone", "138 0013 8000"), flow.FieldEdited("id_last4", "12"),
                     flow.SubmitTapped())
    assert state.invalid_field == "id_last4"
    state, _ = drive(station, state, flow.FieldEdited("id_last4", "３（7）"), flow.FieldEdited("name", " 李  四 "),
                     flow.SubmitTapped(), flow.AgreeTapped())
    assert isinstance(state, flow.Capture) and state.student.phone == "13800138000"
    assert (state.student.id_last4, state.student.name) == ("3(7)", "李 四")
    state = capture_photo(station, state)
    state, _ = drive(station, state, flow.AcceptTapped())
    assert isinstance(state, flow.Done) and state.receipt.ticket is not None
    ticket, shown = state.receipt.ticket, state.receipt.ticket_display
    record = store.find_by_ticket(ticket)
    assert record is not None and record.codeless and record.phone == "13800138000" and record.code_payload is None
    state, _ = drive(station, state, flow.FinishTapped())

    me = students[3]
    state, _ = drive(station, operator(station), flow.MenuChosen(flow.MENU_BIND),
                     flow.FieldEdited("ticket", "ZZZZ-ZZZZ-Z"), flow.SubmitTapped())
    assert state.error in {"ticket.typo", "ticket.symbol"}
    state, _ = drive(station, state, flow.CodeScanned(shown.lower()))
    assert state.stage == "code" and state.record_short_id == record.id.replace("-", "")[:8].upper()
    state, _ = drive(station, state, flow.CodeScanned("not a code"))
    assert state.stage == "code" and state.error == "code.not_a_code"
    state, _ = drive(station, state, flow.CodeScanned(me.payload))
    assert state.stage == "last4"
    state, _ = drive(station, state, *type_keys("0000"))
    assert state.stage == "last4" and state.tries_left == 2 and state.error == "flow.error.last_four_wrong"
    state, _ = drive(station, state, flow.FieldEdited("id_last4", me.last_four), flow.SubmitTapped())
    # the operator sees the record's photo and masked name beside the code's before anything is bound
    assert state.stage == "confirm" and not state.mismatch and state.record is not None
    assert state.record.photo_path == str(record.photo_path) and state.record.masked_name == "李*四"
    assert store.get(record.id).code_payload is None
    state, _ = drive(station, state, flow.SubmitTapped())
    assert state.stage == "done" and state.receipt is not None and state.receipt.record_id == record.id
    assert store.station_log() == []
    bound = store.get(record.id)
    assert bound.code_payload == me.payload and bound.id_last4 == me.last_four
    assert bound.code_fields["student_number"] == me.student_number
    state, _ = drive(station, state, flow.SubmitTapped(), flow.CodeScanned(shown))
    assert state.stage == "ticket" and state.error == "flow.error.ticket_bound"


def test_batch_setup_online_offline_and_unknown(tmp_path: Path, keys: KeyRing) -> None:
    other = batch(feature_code="7Q2W9E", school_name="另一所大学")
    online = {"up": True}

    def fetch(code: str) -> Any:
        if not online["up"]:
            raise SyncError("sync.batch_unavailable", "ConnectionError")
        if code != other.feature_code:
            raise SyncError("sync.batch_unknown", "http 404")
        return other

    station = make_station(tmp_path, keys, fetch=fetch)
    state, _ = drive(station, operator(station), flow.MenuChosen(flow.MENU_BATCH),
                     flow.FieldEdited("feature_code", "7q2w9e"), flow.SubmitTapped())
    assert state.ctx.batch == other and not state.offline
    online["up"] = False
    state, _ = drive(station, state, flow.FieldEdited("feature_code", "7Q2W9E"), flow.SubmitTapped())
    assert state.ctx.batch == other and state.offline
    state, _ = drive(station, state, flow.FieldEdited("feature_code", "NOPE99"), flow.SubmitTapped())
    assert state.error == "flow.error.batch_unknown"
    restarted = make_station(tmp_path, keys, fetch=fetch)
    assert restarted.initial_state().ctx.batch == other  # the choice survives a restart, offline


def test_station_status_and_statistics(tmp_path: Path, keys: KeyRing) -> None:
    station = make_station(tmp_path, keys)
    station.parts.health_probes = {"camera": lambda: flow.HealthItem("camera", True, "1280x720 30 fps")}
    state, _ = drive(station, operator(station), flow.MenuChosen(flow.MENU_STATUS))
    names = [item.name for item in state.items]
    assert names == ["camera", "scanner", "disk", "queue", "last_sync", "server", "token"]
    assert state.items[0].detail == "1280x720 30 fps"
    by_name = {item.name: item for item in state.items}
    assert by_name["queue"].detail == "0" and not by_name["server"].ok
    assert by_name["server"].note_key == "flow.health.sync_not_running"
    station.parts.health_probes = {}
    state, _ = drive(station, state, flow.BackTapped(), flow.CameraLost(), flow.MenuChosen(flow.MENU_STATUS))
    by_name = {item.name: item for item in state.items}
    assert not by_name["camera"].ok and by_name["camera"].note_key == "flow.health.camera_lost"
    assert by_name["scanner"].ok
    review = flow.Review(ctx=state.ctx, student=flow.Student(code=CODE, id_last4="1234"), photo=PHOTO)
    drive(station, review, flow.AcceptTapped())
    state, _ = drive(station, operator(station), flow.MenuChosen(flow.MENU_STATS))
    figures = dict(state.items)
    assert figures["captured"] == 1 and figures["queued"] == 1


def test_effects_for_the_app_return_nothing(tmp_path: Path, keys: KeyRing) -> None:
    rang: list[str] = []
    station = make_station(tmp_path, keys)
    station.parts.call_staff = rang.append
    for effect in (flow.Quit(), flow.WipeSession(), flow.StopCamera(), flow.StartCamera("scan"),
                   flow.CallStaff("no_code")):
        assert station.execute(effect) == []
    assert rang == ["no_code"]


@pytest.mark.parametrize(("phone", "last4", "name", "expected"), [
    ("１３８００１３８０００", "123x", "", flow.CodelessOk("13800138000", "123X", "")),
    ("+852 9123 4567", "3（7）", " 陈  大文 ", flow.CodelessOk("+85291234567", "3(7)", "陈 大文")),
    ("010-12345678", "2(A)", "Li Si", flow.CodelessOk("01012345678", "2(A)", "Li Si")),
    ("12345678901", "1234", "", flow.CodelessInvalid("phone", "flow.error.phone_invalid")),
    ("", "1234", "", flow.CodelessInvalid("phone", "flow.error.phone_invalid")),
    ("13800138000", "12(3", "", flow.CodelessInvalid("id_last4", "flow.error.last_four_invalid")),
    ("13800138000", "12345", "", flow.CodelessInvalid("id_last4", "flow.error.last_four_invalid")),
    ("13800138000", "1234", "名" * 41, flow.CodelessInvalid("name", "flow.error.name_invalid")),
    ("13800138000", "1234", "a\x00b", flow.CodelessInvalid("name", "flow.error.name_invalid")),
])
def test_codeless_form_checks(phone: str, last4: str, name: str, expected: flow.Event) -> None:
    from kiosk.station.records import check_codeless

    assert check_codeless(phone, last4, name) == expected


def test_a_code_shown_for_its_status_is_checked_before_a_capture(tmp_path: Path, keys: KeyRing) -> None:
    # status reads any school's code; "start" from there must not capture it into today's batch
    station = make_station(tmp_path, keys)
    other_school = demo_codes(keys, batch(school_code="99999", school_name="别的大学"), n=1, now=T0)[0]
    state, _ = drive(station, station.initial_state(), flow.StatusTapped(), flow.CodeScanned(other_school.payload))
    assert isinstance(state, flow.StatusShown) and state.may_start()
    state, _ = drive(station, state, flow.StartTapped())
    assert not isinstance(state, flow.Verify)
    assert isinstance(state, flow.ScanCode) and state.error == "code.wrong_batch" and not state.busy


def test_a_locked_code_shown_for_its_status_stays_locked(tmp_path: Path, keys: KeyRing, students: list[Any]) -> None:
    station = make_station(tmp_path, keys)
    me = students[3]
    state, _ = drive(station, station.initial_state(), flow.StartTapped(), flow.CodeScanned(me.payload))
    for _ in range(3):
        state, _ = drive(station, state, *type_keys("0000"))
    assert state.error == "flow.error.code_locked"
    state, _ = drive(station, flow.Welcome(ctx=state.ctx), flow.StatusTapped(), flow.CodeScanned(me.payload),
                     flow.StartTapped())
    assert isinstance(state, flow.ScanCode) and state.error == "code.locked"
    state, _ = drive(station, flow.Welcome(ctx=state.ctx), flow.CodeScanned(me.payload))  # held up on Welcome
    assert isinstance(state, flow.Welcome) and state.error == "code.locked" and not state.busy


class BrokenAttempts:
    """An attempt lock whose file cannot be written (a full disk)."""

    def __init__(self, lock: AttemptLock) -> None:
        self.lock = lock

    def check(self, code_uid: str, now: datetime) -> None:
        self.lock.check(code_uid, now)

    def miss(self, code_uid: str, now: datetime) -> int:
        import sqlite3

        raise sqlite3.OperationalError("database or disk is full")

    def clear(self, code_uid: str) -> None:
        self.lock.clear(code_uid)


def test_a_failing_last_four_check_never_leaves_the_keypad_busy(tmp_path: Path, keys: KeyRing,
                                                                students: list[Any]) -> None:
    station = make_station(tmp_path, keys)
    station.parts.attempts = BrokenAttempts(station.parts.attempts)
    me = students[0]
    state, _ = drive(station, station.initial_state(), flow.StartTapped(), flow.CodeScanned(me.payload))
    state, _ = drive(station, state, *type_keys("0000"))
    assert isinstance(state, flow.Verify) and not state.busy and state.error == "error.unexpected"
    state, _ = drive(station, state, flow.ClearPressed(), *type_keys(me.last_four))
    assert isinstance(state, flow.Confirm)


class Picture:
    """A camera frame the test can watch being forgotten."""


def test_a_wipe_forgets_the_students_frames_even_when_no_frame_follows(tmp_path: Path, keys: KeyRing) -> None:
    # the camera goes away during Capture, the session times out: no frame worker runs to drop the frames
    import gc
    import weakref

    station = make_station(tmp_path, keys)
    frame = Picture()
    seen = weakref.ref(frame)
    station.on_frame("portrait", frame, 0.0)
    del frame
    station.execute(flow.StopCamera())
    station.execute(flow.WipeSession())
    gc.collect()
    assert seen() is None
    state, _ = drive(station, flow.Capture(ctx=station.initial_state().ctx,
                                           student=flow.Student(code=CODE, id_last4="1234")), flow.ShutterTapped())
    assert state.error == "flow.error.photo_failed"  # nothing left to shoot


class UnreadableStore:
    """A store whose lookups fail (a damaged database, an I/O error)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def find_by_student(self, student_uid: str) -> Any:
        from kiosk.store import StoreError

        raise StoreError("store.failed", "test")


def test_a_failed_status_lookup_says_so_and_offers_no_capture(tmp_path: Path, keys: KeyRing,
                                                              students: list[Any]) -> None:
    # "no record here" would be wrong, and its "start" could make a second record for the student
    station = make_station(tmp_path, keys, store=UnreadableStore(Store.open(tmp_path / "data")))
    state, _ = drive(station, station.initial_state(), flow.StatusTapped(), flow.CodeScanned(students[0].payload))
    assert isinstance(state, flow.StatusShown) and not state.busy
    assert state.error == "flow.error.lookup_failed"
    assert run_start(state) is state
    state, _ = drive(station, state, flow.CodeScanned(students[0].payload))  # the student may try again
    assert state.error == "flow.error.lookup_failed" and not state.busy


def run_start(state: flow.State) -> flow.State:
    return flow.step(state, flow.StartTapped())[0]


class DebouncingScanner(FakeScanner):
    """Remembers what it reported, as the real scanner's debounce does."""

    def __init__(self) -> None:
        self.reported: set[str] = set()

    def feed(self, frame: Any, now: float) -> str | None:
        payload = super().feed(frame, now)
        if payload is None or payload in self.reported:
            return None
        self.reported.add(payload)
        return payload

    def forget(self) -> None:
        self.reported.clear()


def test_a_wipe_forgets_the_code_the_scanner_last_read(tmp_path: Path, keys: KeyRing, students: list[Any]) -> None:
    # the code's payload is the student's; after the session it must not linger in the scanner's debounce
    station = make_station(tmp_path, keys)
    scanner = DebouncingScanner()
    station.parts.scanner = scanner
    payload = students[0].payload
    assert station.on_frame("scan", "QR:" + payload, 0.0) == [flow.CodeScanned(payload)]
    station.execute(flow.WipeSession())
    assert scanner.reported == set()


def test_a_second_visit_shows_the_first_record_instead_of_a_second_capture(
        tmp_path: Path, keys: KeyRing, students: list[Any]) -> None:
    station = make_station(tmp_path, keys)
    me = students[0]
    state, _ = drive(station, station.initial_state(), flow.StartTapped(), flow.CodeScanned(me.payload),
                     *type_keys(me.last_four), flow.ThatsMeTapped(), flow.AgreeTapped())
    state = capture_photo(station, state)
    state, _ = drive(station, state, flow.AcceptTapped(), flow.FinishTapped())
    assert len(station.parts.store.records()) == 1
    # the same student comes back and scans again: their record's status, no second capture
    state, _ = drive(station, state, flow.StartTapped(), flow.CodeScanned(me.payload))
    assert isinstance(state, flow.StatusShown) and state.view is not None
    assert state.error == "flow.status.already_captured" and not state.may_start()
    # holding the code up on Welcome, the natural first move, shows the same
    state, _ = drive(station, flow.Welcome(ctx=state.ctx), flow.CodeScanned(me.payload))
    assert isinstance(state, flow.StatusShown) and state.view is not None and not state.may_start()
    state, _ = drive(station, state, flow.StartTapped())
    assert isinstance(state, flow.StatusShown)  # no way round it but through the staff
    # once the review rejects the photo, the student may retake it
    record = station.parts.store.records()[0]
    station.parts.store.set_review(record.id, "rejected", None, "眼睛闭合")
    state, _ = drive(station, state, flow.BackTapped(), flow.StartTapped(), flow.CodeScanned(me.payload))
    assert isinstance(state, flow.Verify)


def test_the_headwear_leave_reaches_the_analyser_and_the_record_for_one_capture(
        tmp_path: Path, keys: KeyRing, students: list[Any]) -> None:
    station = make_station(tmp_path, keys)
    store = station.parts.store
    analyzer = station.parts.analyzer
    assert isinstance(analyzer, FakeAnalyzer)
    state, _ = drive(station, operator(station), flow.MenuChosen(flow.MENU_HEADWEAR), flow.BackTapped())
    assert isinstance(state, flow.Welcome) and state.ctx.headwear_leave
    assert [(e["kind"], e["detail"]) for e in store.station_log()] == [("headwear_leave", "granted")]

    def one_student(state: flow.State, me: Any) -> tuple[flow.State, Any]:
        state, _ = drive(station, state, flow.StartTapped(), flow.CodeScanned(me.payload), *type_keys(me.last_four),
                         flow.ThatsMeTapped(), flow.AgreeTapped())
        assert isinstance(state, flow.Capture)
        analyzer.leaves.clear()
        state = capture_photo(station, state)
        leaves = list(analyzer.leaves)
        state, _ = drive(station, state, flow.AcceptTapped())
        assert isinstance(state, flow.Done)
        record = store.get(state.receipt.record_id)
        state, _ = drive(station, state, flow.FinishTapped())
        return state, (record, leaves)

    state, (record, leaves) = one_student(state, students[0])
    assert leaves and all(leaves)  # every frame of that capture was judged with headwear allowed
    assert record.headwear_allowed and record.metadata()["headwear_allowed"] is True
    assert store.station_log()[0]["kind"] == "headwear_allowed"
    assert store.events(record.id)[-1]["kind"] == "headwear_allowed"
    # the next student gets no leave: the analyser judges headwear again and the record says so
    state, (record, leaves) = one_student(state, students[1])
    assert leaves and not any(leaves)
    assert not record.headwear_allowed
