"""The student flow as a pure state machine: every transition and every bad-input path."""

from __future__ import annotations

import dataclasses

import pytest

from kiosk import flow
from tests.flow_fakes import CODE, PHOTO, SETTINGS, batch, kinds, run, student, welcome


def at_verify() -> flow.Verify:
    state, _ = run(welcome(), flow.StartTapped(), flow.CodeScanned("KC1.fake"), flow.CodeAccepted(CODE))
    assert isinstance(state, flow.Verify)
    return state


def at_capture(**ctx: object) -> flow.Capture:
    state, _ = run(welcome(**ctx) if ctx else welcome(), flow.StartTapped(), flow.CodeScanned("p"),
                   flow.CodeAccepted(CODE), *[flow.KeyPressed(k) for k in "123x"], flow.SubmitTapped(),
                   flow.LastFourOk("123X"), flow.ThatsMeTapped(), flow.AgreeTapped())
    assert isinstance(state, flow.Capture), state
    return state


def at_review(retakes: int = 0) -> flow.Review:
    return flow.Review(ctx=welcome().ctx, student=student(retakes=retakes), photo=PHOTO)


# -- Welcome -------------------------------------------------------------------


def test_start_needs_a_batch() -> None:
    state, effects = run(flow.initial_state(SETTINGS, None), flow.StartTapped())
    assert isinstance(state, flow.Welcome) and state.error == "flow.error.no_batch" and not effects


def test_start_refused_when_batch_is_codeless_only() -> None:
    state, _ = run(welcome(batch(methods=["codeless"])), flow.StartTapped())
    assert isinstance(state, flow.Welcome) and state.error == "flow.error.code_not_allowed"


def test_start_goes_to_scan() -> None:
    state, effects = run(welcome(), flow.StartTapped())
    assert isinstance(state, flow.ScanCode) and state.error is None
    assert effects == []  # frames were already for scanning on Welcome


# -- ScanCode --------------------------------------------------------------------


def test_foreign_code_is_an_inline_error_and_scanning_goes_on() -> None:
    state, effects = run(welcome(), flow.StartTapped(), flow.CodeScanned("https://example.com"))
    assert isinstance(state, flow.ScanCode) and state.busy
    assert effects == [flow.ParseCode(payload="https://example.com", batch=batch())]
    state, _ = run(state, flow.CodeScanned("another"))  # ignored while the first is parsed
    assert state.busy
    state, _ = run(state, flow.CodeRejected("code.not_a_code"))
    assert isinstance(state, flow.ScanCode) and not state.busy and state.error == "code.not_a_code"
    state, effects = run(state, flow.CodeScanned("KC1.good"))
    assert state.error is None and kinds(effects) == ["ParseCode"]


@pytest.mark.parametrize("key", ["code.wrong_batch", "code.locked", "code.damaged", "code.expired"])
def test_every_refusal_stays_on_scan_with_its_message(key: str) -> None:
    state, _ = run(welcome(), flow.StartTapped(), flow.CodeScanned("x"), flow.CodeRejected(key))
    assert isinstance(state, flow.ScanCode) and state.error == key


def test_no_code_calls_staff() -> None:
    state, effects = run(welcome(), flow.StartTapped(), flow.NoCodeTapped())
    assert isinstance(state, flow.ScanCode) and state.staff_called
    assert effects == [flow.CallStaff(reason="no_code")]


def test_scan_back_returns_to_welcome() -> None:
    state, effects = run(welcome(), flow.StartTapped(), flow.BackTapped())
    assert isinstance(state, flow.Welcome) and "WipeSession" in kinds(effects)


# -- Verify -------------------------------------------------------------------------


def test_keypad_normalises_and_limits() -> None:
    state, _ = run(at_verify(), *[flow.KeyPressed(k) for k in ["3", "（", "7", "）", "x", "A", "9", "9"]])
    assert isinstance(state, flow.Verify)
    assert state.typed == "3(7)X9"  # "A" refused, then full at six
    state, _ = run(state, flow.BackspacePressed())
    assert state.typed == "3(7)X"
    state, _ = run(state, flow.ClearPressed())
    assert state.typed == ""


def test_short_entry_is_not_checked() -> None:
    state, effects = run(at_verify(), flow.KeyPressed("1"), flow.SubmitTapped())
    assert state.error == "flow.error.last_four_short" and effects == []


def test_each_miss_shows_tries_left() -> None:
    state, effects = run(at_verify(), *[flow.KeyPressed(k) for k in "9999"], flow.SubmitTapped())
    assert effects == [flow.CheckLastFour(code=CODE, typed="9999")] and state.busy
    state, _ = run(state, flow.LastFourWrong(2))
    assert isinstance(state, flow.Verify) and state.tries_left == 2 and state.typed == ""
    assert state.error == "flow.error.last_four_wrong"
    assert flow.message_params(state) == {"n": 2}


def test_three_misses_lock_and_call_staff() -> None:
    state = at_verify()
    for left in (2, 1):
        state, _ = run(state, *[flow.KeyPressed(k) for k in "0000"], flow.SubmitTapped(), flow.LastFourWrong(left))
    state, effects = run(state, *[flow.KeyPressed(k) for k in "0000"], flow.SubmitTapped(), flow.CodeLockedOut())
    assert isinstance(state, flow.ScanCode)
    assert state.error == "flow.error.code_locked" and state.staff_called
    assert flow.CallStaff(reason="code_locked") in effects


def test_right_last_four_goes_to_confirm() -> None:
    state, _ = run(at_verify(), *[flow.KeyPressed(k) for k in "123X"], flow.SubmitTapped(), flow.LastFourOk("123X"))
    assert isinstance(state, flow.Confirm) and state.student == flow.Student(code=CODE, id_last4="123X")


# -- Confirm and fee notice ---------------------------------------------------------


def test_not_me_goes_back_to_scan_without_the_student() -> None:
    confirm = flow.Confirm(ctx=welcome().ctx, student=student())
    state, effects = run(confirm, flow.NotMeTapped())
    assert isinstance(state, flow.ScanCode) and "WipeSession" in kinds(effects)
    assert not hasattr(state, "student")


def test_fee_notice_only_when_required() -> None:
    plain = flow.Confirm(ctx=welcome().ctx, student=student())
    state, effects = run(plain, flow.ThatsMeTapped(), flow.AgreeTapped())
    assert isinstance(state, flow.Capture)
    assert effects == [flow.StartCamera(purpose="portrait")]
    paying = flow.Confirm(ctx=welcome(batch(fee_required=True, fee_note="20 元")).ctx, student=student())
    state, effects = run(paying, flow.ThatsMeTapped(), flow.AgreeTapped())
    assert isinstance(state, flow.FeeNotice) and effects == []
    state, effects = run(state, flow.FeeAcknowledged())
    assert isinstance(state, flow.Capture) and state.student == student()


# -- Capture ----------------------------------------------------------------------------


def test_guidance_is_shown() -> None:
    state, effects = run(at_capture(), flow.Guidance("countdown", 2, "portrait.hint.hold_still", face=True))
    assert isinstance(state, flow.Capture)
    assert (state.phase, state.count, state.hint_key) == ("countdown", 2, "portrait.hint.hold_still")
    assert effects == []


def test_auto_shot_and_tap_take_a_photo() -> None:
    frame = object()
    state, effects = run(at_capture(), flow.AutoShot(capture=frame))
    assert state.busy and len(effects) == 1 and isinstance(effects[0], flow.TakePhoto)
    assert effects[0].capture is frame
    state, effects = run(at_capture(), flow.ShutterTapped())
    assert state.busy and isinstance(effects[0], flow.TakePhoto) and effects[0].capture is None
    state, more = run(state, flow.ShutterTapped())
    assert more == []  # a double tap takes one photo


def test_photo_failure_is_a_hint_and_capture_goes_on() -> None:
    state, _ = run(at_capture(), flow.ShutterTapped(), flow.PhotoFailed("portrait.hint.step_back"))
    assert isinstance(state, flow.Capture) and not state.busy and state.error == "portrait.hint.step_back"
    state, _ = run(state, flow.Guidance("holding", 0, None, face=True))
    assert state.error is None


def test_camera_lost_mid_capture_keeps_the_session() -> None:
    start = at_capture()
    state, effects = run(start, flow.CameraLost())
    assert isinstance(state, flow.Capture) and state.error == "flow.error.camera_lost"
    assert not state.ctx.camera_ok and state.student == start.student
    assert flow.CallStaff(reason="camera_lost") in effects and flow.StopCamera() in effects
    state, effects = run(state, flow.ShutterTapped(), flow.Guidance("countdown", 1, None, face=True))
    assert effects == [] and state.phase == "waiting"  # nothing to shoot with
    state, effects = run(state, flow.CameraBack())
    assert isinstance(state, flow.Capture) and state.error is None and state.ctx.camera_ok
    assert state.student == start.student and effects == [flow.StartCamera(purpose="portrait")]
    state, effects = run(state, flow.ShutterTapped())
    assert kinds(effects) == ["TakePhoto"]


def test_camera_state_follows_the_session_to_welcome() -> None:
    state, _ = run(welcome(), flow.CameraLost())
    assert not state.ctx.camera_ok and flow.frame_use(state) is None
    state, effects = run(state, flow.CameraBack())
    assert flow.frame_use(state) == "scan" and effects == [flow.StartCamera(purpose="scan")]


def test_photo_goes_to_review() -> None:
    state, effects = run(at_capture(), flow.ShutterTapped(), flow.PhotoReady(PHOTO))
    assert isinstance(state, flow.Review) and state.photo is PHOTO and state.retakes_left == 2
    assert flow.StopCamera() in effects


# -- Review, Saving, Done -------------------------------------------------------------------


def test_retakes_up_to_the_limit() -> None:
    state: flow.State = at_review()
    for expected_left in (1, 0):
        state, _ = run(state, flow.RetakeTapped())
        assert isinstance(state, flow.Capture)
        state, _ = run(state, flow.ShutterTapped(), flow.PhotoReady(PHOTO))
        assert isinstance(state, flow.Review) and state.retakes_left == expected_left
    state, effects = run(state, flow.RetakeTapped())
    assert isinstance(state, flow.Review) and effects == []


def test_no_retakes_when_the_limit_is_zero() -> None:
    review = flow.Review(ctx=dataclasses.replace(welcome().ctx, settings=dataclasses.replace(SETTINGS, max_retakes=0)),
                         student=student(), photo=PHOTO)
    assert review.retakes_left == 0
    assert run(review, flow.RetakeTapped())[0] is review


def test_accept_saves_and_done_shows_the_receipt() -> None:
    state, effects = run(at_review(), flow.AcceptTapped())
    assert isinstance(state, flow.Saving) and state.busy
    assert effects == [flow.SaveRecord(student=student(), photo=PHOTO, batch=batch())]
    receipt = flow.Receipt(record_id="r-1", short_id="ABCD1234", status_link="r-1")
    state, effects = run(state, flow.Saved(receipt))
    assert isinstance(state, flow.Done) and state.receipt == receipt
    assert effects == [flow.WipeSession(), flow.LookupReceipt(record_id="r-1")]
    other = flow.Receipt(record_id="other", short_id="OTHER", queue_position=9)
    known = dataclasses.replace(receipt, queue_position=4)
    state, _ = run(state, flow.ReceiptRefreshed(other), flow.ReceiptRefreshed(known))
    assert isinstance(state, flow.Done) and state.receipt.queue_position == 4
    state, effects = run(state, flow.FinishTapped())
    assert isinstance(state, flow.Welcome) and "WipeSession" in kinds(effects)


def test_disk_full_says_not_saved_and_offers_retry() -> None:
    state, _ = run(at_review(), flow.AcceptTapped(), flow.SaveFailed("flow.error.not_saved_disk_full"))
    assert isinstance(state, flow.Saving) and not state.busy and state.error == "flow.error.not_saved_disk_full"
    assert state.photo is PHOTO  # kept for the retry
    state, effects = run(state, flow.NoCodeTapped())
    assert state.staff_called and effects == [flow.CallStaff(reason="save_failed")]
    state, effects = run(state, flow.RetryTapped())
    assert state.busy and state.error is None and kinds(effects) == ["SaveRecord"]
    state, _ = run(state, flow.Saved(flow.Receipt(record_id="r", short_id="R")))
    assert isinstance(state, flow.Done)


def test_receipt_with_a_known_position_needs_no_lookup() -> None:
    saving = flow.Saving(ctx=welcome().ctx, student=student(), photo=PHOTO, busy=True)
    _, effects = run(saving, flow.Saved(flow.Receipt(record_id="r", short_id="R", queue_position=3)))
    assert effects == [flow.WipeSession()]


# -- status lookup --------------------------------------------------------------------------


def test_a_code_held_up_on_welcome_starts_the_capture() -> None:
    state, effects = run(welcome(), flow.CodeScanned("KC1.x"))
    assert isinstance(state, flow.Welcome) and state.busy
    assert effects == [flow.ParseCode(payload="KC1.x", batch=batch(), purpose="capture")]
    started, _ = run(state, flow.CodeAccepted(CODE))
    assert isinstance(started, flow.Verify) and started.code == CODE
    view = flow.StatusView(short_id="ABCD1234", status="queued")
    shown, _ = run(state, flow.AlreadyCaptured(CODE, view))  # a photo in review: its status, no second capture
    assert isinstance(shown, flow.StatusShown) and shown.view == view and not shown.may_start()
    refused, _ = run(state, flow.CodeRejected("code.wrong_batch"))
    assert isinstance(refused, flow.Welcome) and refused.error == "code.wrong_batch" and not refused.busy


def test_welcome_has_a_way_for_a_student_without_a_code() -> None:
    state, effects = run(welcome(), flow.NoCodeTapped())
    assert isinstance(state, flow.ScanCode) and state.staff_called
    assert flow.CallStaff(reason="no_code") in effects


def test_code_on_welcome_shows_its_status_when_no_capture_is_possible() -> None:
    state, effects = run(welcome(batch(methods=["codeless"])), flow.CodeScanned("KC1.x"))
    assert isinstance(state, flow.Welcome) and state.busy
    assert effects == [flow.ParseCode(payload="KC1.x", purpose="status")]
    state, effects = run(state, flow.CodeAccepted(CODE))
    assert isinstance(state, flow.StatusShown) and state.busy and effects == [flow.LookupStatus(code=CODE)]
    view = flow.StatusView(short_id="ABCD1234", status="queued", queue_position=12, refreshed=True)
    state, _ = run(state, flow.StatusFound(view))
    assert isinstance(state, flow.StatusShown) and state.view == view and not state.may_start()
    assert run(state, flow.StartTapped())[0] == state


def test_rejected_status_offers_a_retake() -> None:
    view = flow.StatusView(short_id="A", status="rejected", reason="背景不均匀")
    state = flow.StatusShown(ctx=welcome().ctx, code=CODE, view=view)
    state2, effects = run(state, flow.StartTapped(), flow.CodeAccepted(CODE))
    assert isinstance(state2, flow.Verify) and state2.code == CODE
    assert effects[0] == flow.ParseCode(payload=CODE.payload, batch=state.ctx.batch)


def test_no_record_lets_the_student_start() -> None:
    state, _ = run(welcome(), flow.StatusTapped(), flow.CodeScanned("x"), flow.CodeAccepted(CODE),
                   flow.StatusNotFound())
    assert isinstance(state, flow.StatusShown) and state.error == "flow.status.none" and state.may_start()
    state, _ = run(state, flow.StartTapped(), flow.CodeAccepted(CODE))
    assert isinstance(state, flow.Verify)


def test_starting_from_the_status_screen_checks_the_code_against_today() -> None:
    # the status lookup reads any school's code, locked or not; a capture must not
    state = flow.StatusShown(ctx=welcome().ctx, code=CODE)
    state, effects = run(state, flow.StartTapped())
    assert isinstance(state, flow.ScanCode) and state.busy
    assert effects == [flow.ParseCode(payload=CODE.payload, batch=state.ctx.batch, purpose="capture")]
    state, _ = run(state, flow.CodeRejected("code.wrong_batch", (("code_school", "别的大学"),)))
    assert isinstance(state, flow.ScanCode) and state.error == "code.wrong_batch" and not state.busy


def test_starting_from_the_status_screen_needs_a_batch_that_takes_codes() -> None:
    state = flow.StatusShown(ctx=welcome(batch(methods=["codeless"])).ctx, code=CODE)
    state, effects = run(state, flow.StartTapped())
    assert isinstance(state, flow.StatusShown) and state.error == "flow.error.code_not_allowed" and effects == []


def test_garbled_code_on_welcome_is_an_inline_error() -> None:
    state, _ = run(welcome(), flow.CodeScanned("???"), flow.CodeRejected("code.damaged"))
    assert isinstance(state, flow.Welcome) and state.error == "code.damaged" and not state.busy


def test_late_results_are_ignored() -> None:
    fresh = welcome()
    for event in (flow.CodeAccepted(CODE), flow.LastFourOk("1"), flow.PhotoReady(PHOTO), flow.StatusNotFound(),
                  flow.Saved(flow.Receipt(record_id="r", short_id="R")), flow.PinAccepted()):
        assert run(fresh, event) == (fresh, [])


# -- timeouts -------------------------------------------------------------------------------------


def every_screen() -> list[flow.State]:
    ctx = welcome().ctx
    s = student(phone="13800000000", name="张三")
    return [
        flow.Welcome(ctx=ctx, error="code.damaged"),
        flow.StatusShown(ctx=ctx, code=CODE, view=flow.StatusView(short_id="A", status="queued")),
        flow.ScanCode(ctx=ctx, staff_called=True),
        flow.Verify(ctx=ctx, code=CODE, typed="12"),
        flow.Confirm(ctx=ctx, student=s),
        flow.FeeNotice(ctx=ctx, student=s),
        flow.Capture(ctx=ctx, student=s),
        flow.Review(ctx=ctx, student=s, photo=PHOTO),
        flow.Saving(ctx=ctx, student=s, photo=PHOTO, error="flow.error.not_saved"),
        flow.Done(ctx=ctx, receipt=flow.Receipt(record_id="r", short_id="R", ticket="ABCDEFGH0"),
                  ticket_confirmed=True),
        flow.PinEntry(ctx=ctx, typed="12"),
        flow.OperatorMenu(ctx=ctx),
        flow.CodelessForm(ctx=ctx, phone="138", id_last4="12", name="张"),
        flow.BindTicket(ctx=ctx, stage="last4", ticket="ABCDEFGH0", code=CODE, typed="12"),
        flow.StationStatus(ctx=ctx),
        flow.BatchSetup(ctx=ctx, typed="1S9"),
        flow.Statistics(ctx=ctx),
        flow.Consent(ctx=ctx, student=s),
        flow.Attract(ctx=ctx),
        flow.StillThere(ctx=ctx, resume=flow.Verify(ctx=ctx, code=CODE, typed="12"), left=20),
    ]


@pytest.mark.parametrize("screen", [s for s in every_screen() if not isinstance(s, flow.Attract | flow.StillThere)],
                         ids=lambda s: type(s).__name__)
def test_every_screen_times_out_to_a_clean_welcome(screen: flow.State) -> None:
    limit = SETTINGS.done_timeout_s if isinstance(screen, flow.Done) else SETTINGS.idle_timeout_s
    state, effects = run(screen, flow.Tick(100.0), flow.Tick(100.0 + limit - 0.5))
    # Done asks the station what sync knows of its record, which is not a timeout's doing
    assert type(state) is type(screen) and [e for e in effects if not isinstance(e, flow.LookupReceipt)] == []
    state, effects = run(state, flow.Tick(100.0 + limit))
    if flow.holds_work(screen):
        # work would be lost: "still there?" first, with its countdown, and nothing wiped yet
        assert isinstance(state, flow.StillThere) and state.resume == dataclasses.replace(screen, since=100.0)
        assert "WipeSession" not in kinds(effects)
        assert state.left == SETTINGS.still_there_s
        state, effects = run(state, flow.Tick(100.0 + limit + SETTINGS.still_there_s - 0.5))
        assert isinstance(state, flow.StillThere) and state.left == 1
        state, effects = run(state, flow.Tick(100.0 + limit + SETTINGS.still_there_s))
    assert state == flow.Welcome(ctx=screen.ctx)  # nothing of the student is left in the state
    assert "WipeSession" in kinds(effects)
    assert flow.Welcome(ctx=screen.ctx).__dataclass_fields__.keys() == {"ctx", "since", "error", "error_params", "busy",
                                                                       "reading"}


def test_done_asks_again_until_sync_has_answered() -> None:
    done = flow.Done(ctx=welcome().ctx, receipt=flow.Receipt(record_id="r", short_id="R"))
    asked = []
    state: flow.State = done
    for now in (0.0, 0.5, 1.0, 2.0, 2.5, 4.0):
        state, effects = run(state, flow.Tick(now))
        asked += [now for e in effects if e == flow.LookupReceipt(record_id="r")]
    assert asked == [0.5, 2.5]  # the first tick stamps the screen; then once every RECEIPT_REFRESH_S
    state, _ = run(state, flow.ReceiptRefreshed(flow.Receipt(record_id="r", short_id="R", queue_position=3)))
    assert isinstance(state, flow.Done) and state.receipt.queue_position == 3
    _, effects = run(state, flow.Tick(10.0))
    assert effects == []  # nothing left to wait for: a record with a code and a position


def test_a_ticket_the_server_replaced_reaches_the_student_before_they_leave() -> None:
    old = flow.Receipt(record_id="r", short_id="R", ticket="AAAAAAAA0", ticket_display="AAAA-AAAA-0",
                       ticket_link="https://x/bind?t=AAAAAAAA0")
    new = dataclasses.replace(old, ticket="BBBBBBBB1", ticket_display="BBBB-BBBB-1",
                              ticket_link="https://x/bind?t=BBBBBBBB1", queue_position=8)
    done = flow.Done(ctx=welcome().ctx, receipt=old, ticket_confirmed=True)  # staff had already seen the old one
    state, _ = run(done, flow.Tick(0.0), flow.Tick(1.0))
    assert isinstance(state, flow.Done)
    state, effects = run(state, flow.ReceiptRefreshed(new))
    assert effects == [flow.PrintSlip(receipt=state.receipt)]  # a slip already printed holds the old ticket
    assert isinstance(state, flow.Done) and state.receipt.ticket_display == "BBBB-BBBB-1"
    assert state.receipt.ticket_link.endswith("BBBBBBBB1") and state.receipt.queue_position == 8
    # held again: the student photographs the new ticket and staff confirm before the screen lets go
    assert state.ticket_replaced and not state.may_finish
    state, _ = run(state, flow.FinishTapped())
    assert isinstance(state, flow.Done)
    state, _ = run(state, flow.SlipFailed())
    assert isinstance(state, flow.Done) and state.receipt.print_note == "staff.slip.failed"
    state, _ = run(state, flow.TicketHandedTapped(), flow.FinishTapped())
    assert isinstance(state, flow.Welcome)


def test_the_same_ticket_again_changes_nothing_for_the_student() -> None:
    receipt = flow.Receipt(record_id="r", short_id="R", ticket="AAAAAAAA0", ticket_display="AAAA-AAAA-0")
    done = flow.Done(ctx=welcome().ctx, receipt=receipt, ticket_confirmed=True)
    state, _ = run(done, flow.ReceiptRefreshed(dataclasses.replace(receipt, queue_position=2)))
    assert isinstance(state, flow.Done) and state.may_finish and not state.ticket_replaced
    assert state.receipt.queue_position == 2


def test_done_uses_its_own_shorter_timeout() -> None:
    done = flow.Done(ctx=welcome().ctx, receipt=flow.Receipt(record_id="r", short_id="R"))
    state, _ = run(done, flow.Tick(0.0), flow.Tick(SETTINGS.done_timeout_s))
    assert isinstance(state, flow.Welcome)


def test_a_touch_restarts_the_idle_clock() -> None:
    state, _ = run(at_verify(), flow.Tick(0.0), flow.Tick(50.0), flow.KeyPressed("1"), flow.Tick(55.0),
                   flow.Tick(114.0))
    assert isinstance(state, flow.Verify) and state.typed == "1"
    state, _ = run(state, flow.Tick(115.0))
    assert isinstance(state, flow.StillThere)


def test_someone_in_front_of_the_camera_is_activity_an_empty_frame_is_not() -> None:
    state, _ = run(at_capture(), flow.Tick(0.0), flow.Tick(50.0), flow.Guidance("holding", face=True),
                   flow.Tick(51.0), flow.Tick(100.0))
    assert isinstance(state, flow.Capture)
    state, _ = run(state, flow.Guidance("waiting", hint_key="portrait.hint.no_face", face=False), flow.Tick(111.0))
    assert isinstance(state, flow.StillThere)
    back, effects = run(state, flow.Guidance("holding", face=True))  # stepping back into the oval answers it
    assert isinstance(back, flow.Capture) and back.phase == "holding" and effects == []


def test_still_there_continue_keeps_everything_and_restarts_the_clock() -> None:
    verify = dataclasses.replace(at_verify(), typed="12")
    state, effects = run(verify, flow.Tick(0.0), flow.Tick(SETTINGS.idle_timeout_s))
    assert isinstance(state, flow.StillThere) and effects == []
    assert flow.frame_use(state) == flow.frame_use(verify)
    state, effects = run(state, flow.Tick(70.0), flow.ContinueTapped())
    assert isinstance(state, flow.Verify) and state.typed == "12" and state.since is None and effects == []
    state, effects = run(state, flow.Tick(80.0), flow.Tick(80.0 + SETTINGS.idle_timeout_s - 1))
    assert isinstance(state, flow.Verify)


def test_still_there_can_be_ended_at_once() -> None:
    state, _ = run(at_review(), flow.Tick(0.0), flow.Tick(SETTINGS.idle_timeout_s))
    state, effects = run(state, flow.BackTapped())
    assert state == flow.Welcome(ctx=state.ctx) and "WipeSession" in kinds(effects)


def test_a_late_answer_while_asking_lands_on_the_screen_underneath() -> None:
    saving = flow.Saving(ctx=welcome().ctx, student=student(), photo=PHOTO, error="flow.error.not_saved")
    state, _ = run(saving, flow.Tick(0.0), flow.Tick(SETTINGS.idle_timeout_s))
    assert isinstance(state, flow.StillThere)
    state, _ = run(state, flow.KeyPressed("1"))  # not an answer: nothing happens
    assert isinstance(state, flow.StillThere)


def test_review_can_be_cancelled() -> None:
    state, effects = run(at_review(), flow.BackTapped())
    assert state == flow.Welcome(ctx=state.ctx) and "WipeSession" in kinds(effects)


def test_the_retake_limit_survives_a_timeout_and_a_new_start() -> None:
    # the student spends a retake, walks away, and comes back with the same code the same day
    review = at_review()
    state, _ = run(review, flow.RetakeTapped())
    assert isinstance(state, flow.Capture) and state.student.retakes == 1
    state, _ = run(state, flow.Tick(0.0), flow.Tick(SETTINGS.idle_timeout_s),
                   flow.Tick(SETTINGS.idle_timeout_s + SETTINGS.still_there_s))
    assert isinstance(state, flow.Welcome)
    again, _ = run(state, flow.StartTapped(), flow.CodeScanned("p"), flow.CodeAccepted(CODE),
                   *[flow.KeyPressed(k) for k in "123X"], flow.SubmitTapped(), flow.LastFourOk("123X"),
                   flow.ThatsMeTapped(), flow.AgreeTapped())
    assert isinstance(again, flow.Capture) and again.student.retakes == 1
    other = dataclasses.replace(CODE, student_uid="uid-2")
    fresh, _ = run(state, flow.StartTapped(), flow.CodeScanned("p"), flow.CodeAccepted(other),
                   *[flow.KeyPressed(k) for k in "123X"], flow.SubmitTapped(), flow.LastFourOk("123X"),
                   flow.ThatsMeTapped(), flow.AgreeTapped())
    assert isinstance(fresh, flow.Capture) and fresh.student.retakes == 0


def test_consent_comes_before_the_camera_and_declining_ends_the_session() -> None:
    confirm = flow.Confirm(ctx=welcome().ctx, student=student())
    state, effects = run(confirm, flow.ThatsMeTapped())
    assert isinstance(state, flow.Consent) and flow.frame_use(state) is None and effects == []
    state, effects = run(state, flow.BackTapped())
    assert state == flow.Welcome(ctx=state.ctx) and "WipeSession" in kinds(effects)


def test_the_session_is_kept_while_the_camera_is_unplugged_as_long_as_promised() -> None:
    state, effects = run(at_capture(), flow.Tick(0.0), flow.Tick(30.0), flow.CameraLost())
    assert state.error == "flow.error.camera_lost" and dict(state.error_params)["minutes"] == "10"
    assert flow.CallStaff(reason="camera_lost") in effects
    state, _ = run(state, flow.Tick(31.0), flow.Tick(31.0 + SETTINGS.camera_hold_s - 1))
    assert isinstance(state, flow.Capture)  # far beyond the usual idle timeout
    state, _ = run(state, flow.Tick(31.0 + SETTINGS.camera_hold_s))
    assert isinstance(state, flow.StillThere)


def test_the_camera_going_while_asking_keeps_the_session() -> None:
    state, _ = run(at_capture(), flow.Tick(0.0), flow.Tick(SETTINGS.idle_timeout_s))
    assert isinstance(state, flow.StillThere)
    state, _ = run(state, flow.CameraLost())
    assert isinstance(state, flow.Capture) and state.error == "flow.error.camera_lost" and state.since is None


def test_a_clean_welcome_turns_to_the_attract_screen_and_a_tap_comes_back() -> None:
    state, effects = run(welcome(), flow.Tick(0.0), flow.Tick(SETTINGS.attract_after_s))
    assert isinstance(state, flow.Attract) and effects == []
    assert flow.frame_use(state) == "scan"
    state, effects = run(state, flow.Tick(5000.0), flow.Tick(9000.0))
    assert isinstance(state, flow.Attract)
    assert isinstance(run(state, flow.ContinueTapped())[0], flow.Welcome)
    started, effects = run(state, flow.CodeScanned("KC1.x"))
    assert isinstance(started, flow.Welcome) and started.busy and kinds(effects) == ["ParseCode"]


def test_a_save_in_progress_does_not_time_out() -> None:
    saving = flow.Saving(ctx=welcome().ctx, student=student(), photo=PHOTO, busy=True)
    state, effects = run(saving, flow.Tick(0.0), flow.Tick(1000.0))
    assert isinstance(state, flow.Saving) and effects == []


def test_a_welcome_with_a_message_clears_it_after_the_idle_timeout() -> None:
    state, _ = run(flow.Welcome(ctx=welcome().ctx, error="code.damaged"), flow.Tick(0.0),
                   flow.Tick(SETTINGS.idle_timeout_s))
    assert state == flow.Welcome(ctx=state.ctx)


# -- robustness ----------------------------------------------------------------------------------------

RECEIPT_NEWS = flow.Receipt(record_id="r", short_id="R", ticket="X")
SIMPLE_EVENTS = [
    flow.StartTapped(), flow.StatusTapped(), flow.NoCodeTapped(), flow.BackTapped(), flow.NotMeTapped(),
    flow.ThatsMeTapped(), flow.FeeAcknowledged(), flow.ShutterTapped(), flow.RetakeTapped(), flow.AcceptTapped(),
    flow.RetryTapped(), flow.FinishTapped(), flow.SubmitTapped(), flow.OperatorRequested(), flow.KeyPressed("7"),
    flow.KeyPressed("\x00"), flow.BackspacePressed(), flow.ClearPressed(), flow.FieldEdited("phone", "1" * 99),
    flow.FieldEdited("nonsense", "x"), flow.MenuChosen("nonsense"), flow.CodeScanned(""), flow.Guidance("shoot"),
    flow.AutoShot(None), flow.CodeAccepted(CODE), flow.CodeRejected("k"), flow.LastFourOk("1"),
    flow.LastFourWrong(1), flow.CodeLockedOut(), flow.StatusNotFound(), flow.PhotoReady(PHOTO),
    flow.PhotoFailed("k"), flow.SaveFailed("k"), flow.ReceiptRefreshed(RECEIPT_NEWS), flow.SlipFailed(),
    flow.PinAccepted(),
    flow.PinRejected(1), flow.PinLockedOut(3), flow.CodelessInvalid("phone", "k"), flow.TicketRejected("k"),
    flow.BindFailed("k", 0), flow.BatchFailed("k"), flow.HealthReported(()), flow.StatsLoaded(()),
    flow.CameraLost(), flow.CameraBack(), flow.Tick(1e9), flow.LastFourUnchecked("k"), flow.StatusUnavailable("k"),
    flow.AgreeTapped(), flow.ContinueTapped(), flow.CodelessUnchecked("k"),
]


@pytest.mark.parametrize("screen", every_screen(), ids=lambda s: type(s).__name__)
def test_no_event_breaks_any_screen(screen: flow.State) -> None:
    for event in SIMPLE_EVENTS:
        state, effects = flow.step(screen, event)
        assert isinstance(state, flow.State) and isinstance(effects, tuple)
        for busy_state in (dataclasses.replace(screen, busy=True),):
            flow.step(busy_state, event)


def test_coming_to_capture_while_the_camera_is_gone_says_so_and_calls_staff() -> None:
    # unplugged while the student looked at their photo: the retake must not wait silently
    review = at_review()
    review = dataclasses.replace(review, ctx=dataclasses.replace(review.ctx, camera_ok=False))
    state, effects = run(review, flow.RetakeTapped())
    assert isinstance(state, flow.Capture) and state.error == "flow.error.camera_lost"
    assert flow.CallStaff(reason="camera_lost") in effects
    state, effects = run(state, flow.CameraBack())
    assert state.error is None and effects == [flow.StartCamera(purpose="portrait")]
    confirm = flow.Confirm(ctx=review.ctx, student=student())
    state, effects = run(confirm, flow.ThatsMeTapped(), flow.AgreeTapped())
    assert isinstance(state, flow.Capture) and state.error == "flow.error.camera_lost"
    assert flow.CallStaff(reason="camera_lost") in effects


def test_an_unchecked_last_four_frees_the_keypad_and_keeps_the_entry() -> None:
    state, _ = run(at_verify(), *[flow.KeyPressed(k) for k in "123x"], flow.SubmitTapped())
    assert state.busy
    state, effects = run(state, flow.LastFourUnchecked("error.unexpected"))
    assert isinstance(state, flow.Verify) and not state.busy and state.typed == "123X"
    assert state.error == "error.unexpected" and effects == []


def test_a_code_already_captured_shows_its_status_not_a_second_capture() -> None:
    scan = flow.ScanCode(ctx=welcome(batch()).ctx, busy=True)
    view = flow.StatusView(short_id="ABCD1234", status="queued", queue_position=3)
    state, effects = flow.step(scan, flow.AlreadyCaptured(code=CODE, view=view))
    assert isinstance(state, flow.StatusShown) and state.view == view and state.code == CODE
    assert state.error == "flow.status.already_captured" and not state.may_start() and effects == ()


def test_a_countdown_cut_by_the_camera_is_not_shown_again() -> None:
    state, _ = run(at_capture(), flow.Guidance("countdown", 2, "portrait.hint.countdown", face=True))
    assert state.hint_key == "portrait.hint.countdown"
    state, _ = run(state, flow.CameraLost())
    assert state.hint_key is None and state.count == 0
    state, _ = run(state, flow.CameraBack())
    assert state.phase == "waiting" and state.hint_key is None and state.count == 0  # not "0…"
