"""Operator mode in the pure flow: PIN, codeless capture, binding, status, batch, statistics, quit."""

from __future__ import annotations

import dataclasses

from kiosk import flow
from tests.flow_fakes import CODE, PHOTO, batch, kinds, run, welcome


def menu(b=None, **ctx: object) -> flow.OperatorMenu:
    base = welcome(b) if b is not None else welcome()
    if ctx:
        base = dataclasses.replace(base, ctx=dataclasses.replace(base.ctx, **ctx))
    return flow.OperatorMenu(ctx=base.ctx)


def test_pin_entry() -> None:
    state, effects = run(welcome(demo_pin=True), flow.OperatorRequested())
    assert isinstance(state, flow.PinEntry) and state.ctx.demo_pin
    state, effects = run(state, flow.KeyPressed("1"), flow.KeyPressed("X"), flow.KeyPressed("2"), flow.SubmitTapped())
    assert effects == [flow.CheckPin(pin="12")] and state.busy
    state, _ = run(state, flow.PinRejected(3))
    assert isinstance(state, flow.PinEntry) and state.error == "flow.operator.pin_wrong" and state.tries_left == 3
    assert state.typed == "" and flow.message_params(state) == {"n": 3}
    state, _ = run(state, flow.KeyPressed("0"), flow.SubmitTapped(), flow.PinAccepted())
    assert isinstance(state, flow.OperatorMenu) and state.ctx.demo_pin


def test_pin_lock_is_shown() -> None:
    state, _ = run(flow.PinEntry(ctx=welcome().ctx), flow.KeyPressed("9"), flow.SubmitTapped(), flow.PinLockedOut(5))
    assert isinstance(state, flow.PinEntry) and state.error == "flow.operator.locked"
    assert flow.message_params(state) == {"n": 0, "minutes": 5}


def test_empty_pin_is_not_sent_and_back_leaves() -> None:
    state, effects = run(flow.PinEntry(ctx=welcome().ctx), flow.SubmitTapped())
    assert effects == [] and not state.busy
    state, _ = run(state, flow.BackTapped())
    assert isinstance(state, flow.Welcome)


def test_codeless_needs_a_batch_that_allows_it() -> None:
    state, _ = run(menu(None, batch=None), flow.MenuChosen(flow.MENU_CODELESS))
    assert isinstance(state, flow.OperatorMenu) and state.error == "flow.error.no_batch"
    state, _ = run(menu(batch(methods=["code"])), flow.MenuChosen(flow.MENU_CODELESS))
    assert isinstance(state, flow.OperatorMenu) and state.error == "flow.error.codeless_not_allowed"


def test_codeless_capture_through_to_the_ticket() -> None:
    state, effects = run(menu(), flow.MenuChosen(flow.MENU_CODELESS),
                         flow.FieldEdited("phone", "138 0000 0000"), flow.FieldEdited("id_last4", "123x"),
                         flow.FieldEdited("name", "张三"), flow.SubmitTapped())
    assert isinstance(state, flow.CodelessForm) and state.busy
    assert effects == [flow.CheckCodeless(phone="138 0000 0000", id_last4="123x", name="张三")]
    state, _ = run(state, flow.CodelessInvalid("phone", "flow.error.phone_invalid"))
    assert state.error == "flow.error.phone_invalid" and state.invalid_field == "phone" and not state.busy
    state, _ = run(state, flow.FieldEdited("phone", "13800000000"))
    assert state.error is None and state.invalid_field is None
    state, effects = run(state, flow.SubmitTapped(), flow.CodelessOk("13800000000", "123X", "张三"))
    assert isinstance(state, flow.Consent)  # the student reads and agrees to the notice too
    state, effects = run(state, flow.AgreeTapped())
    assert isinstance(state, flow.Capture)
    assert state.student == flow.Student(code=None, id_last4="123X", codeless=True, phone="13800000000", name="张三")
    assert effects[-1] == flow.StartCamera(purpose="portrait")
    state, effects = run(state, flow.ShutterTapped(), flow.PhotoReady(PHOTO), flow.AcceptTapped())
    assert isinstance(effects[-1], flow.SaveRecord) and effects[-1].student.codeless
    receipt = flow.Receipt(record_id="r", short_id="R", ticket="ABCDEFGH0", ticket_display="ABCD-EFGH-0")
    state, _ = run(state, flow.Saved(receipt))
    assert isinstance(state, flow.Done) and state.receipt.ticket == "ABCDEFGH0"
    state, _ = run(state, flow.FinishTapped())
    assert isinstance(state, flow.Done)  # the ticket stays until staff confirm the student has it
    state, _ = run(state, flow.TicketHandedTapped(), flow.FinishTapped())
    assert isinstance(state, flow.Welcome)  # operator mode is left with the session


def test_codeless_with_a_fee_shows_the_notice() -> None:
    state, _ = run(menu(batch(fee_required=True)), flow.MenuChosen(flow.MENU_CODELESS), flow.SubmitTapped(),
                   flow.CodelessOk("13800000000", "1234"), flow.AgreeTapped())
    assert isinstance(state, flow.FeeNotice) and state.student.codeless


def test_codeless_form_limits_fields_and_back_wipes() -> None:
    state, _ = run(menu(), flow.MenuChosen(flow.MENU_CODELESS), flow.FieldEdited("name", "名" * 100),
                   flow.FieldEdited("bogus", "x"))
    assert isinstance(state, flow.CodelessForm) and len(state.name) == 40
    state, effects = run(state, flow.BackTapped())
    assert isinstance(state, flow.OperatorMenu) and "WipeSession" in kinds(effects)


def test_binding_a_code_later() -> None:
    state, effects = run(menu(), flow.MenuChosen(flow.MENU_BIND))
    assert isinstance(state, flow.BindTicket) and state.stage == "ticket"
    assert effects == [flow.StartCamera(purpose="scan")]
    state, effects = run(state, flow.FieldEdited("ticket", "abcd-efgh-x"), flow.SubmitTapped())
    assert effects == [flow.FindTicket(text="abcd-efgh-x")]
    state, _ = run(state, flow.TicketRejected("ticket.typo"))
    assert state.error == "ticket.typo" and state.stage == "ticket"
    state, effects = run(state, flow.CodeScanned("ABCD-EFGH-0"), flow.TicketFound("ABCDEFGH0", "1A2B3C4D"))
    assert effects[0] == flow.FindTicket(text="ABCD-EFGH-0")
    assert (state.stage, state.ticket, state.record_short_id) == ("code", "ABCDEFGH0", "1A2B3C4D")
    state, effects = run(state, flow.CodeScanned("KC1.x"))
    assert effects == [flow.ParseCode(payload="KC1.x", batch=batch(), purpose="bind")]
    state, _ = run(state, flow.CodeRejected("code.wrong_batch"))
    assert state.stage == "code" and state.error == "code.wrong_batch"
    state, effects = run(state, flow.CodeScanned("KC1.y"), flow.CodeAccepted(CODE))
    assert state.stage == "last4" and state.code == CODE and flow.StopCamera() in effects
    state, effects = run(state, *[flow.KeyPressed(k) for k in "0000"], flow.SubmitTapped())
    assert effects == [flow.BindCode(ticket="ABCDEFGH0", code=CODE, typed="0000")]
    state, _ = run(state, flow.BindFailed("flow.error.last_four_wrong", 2))
    assert state.stage == "last4" and state.tries_left == 2 and state.typed == ""
    card = flow.RecordCard(record_id="r", short_id="1A2B3C4D", ticket="ABCDEFGH0", ticket_display="ABCD-EFGH-0")
    state, _ = run(state, flow.FieldEdited("id_last4", "123X"), flow.SubmitTapped(), flow.BindChecked(False, card))
    assert state.stage == "confirm" and state.record == card and state.error is None  # photo and names side by side
    state, effects = run(state, flow.SubmitTapped())
    assert effects == [flow.BindCode(ticket="ABCDEFGH0", code=CODE, typed="123X", confirmed=True)]
    state, _ = run(state, flow.Bound(flow.Receipt(record_id="r", short_id="1A2B3C4D")))
    assert state.stage == "done" and state.receipt is not None and state.code is None
    state, effects = run(state, flow.FinishTapped())
    assert isinstance(state, flow.OperatorMenu) and "WipeSession" in kinds(effects)


def test_binding_with_a_different_capture_last_four_needs_a_second_confirmation() -> None:
    card = flow.RecordCard(record_id="r", short_id="1A2B3C4D", ticket="ABCDEFGH0", ticket_display="ABCD-EFGH-0")
    state = flow.BindTicket(ctx=welcome().ctx, stage="last4", ticket="ABCDEFGH0", code=CODE, typed="1234")
    state, _ = run(state, flow.SubmitTapped(), flow.BindChecked(True, card))
    assert state.stage == "confirm" and state.mismatch and state.error == "flow.error.bind_mismatch"
    state, effects = run(state, flow.SubmitTapped())
    assert state.stage == "override" and effects == [] and state.error == "flow.error.bind_override"
    state, effects = run(state, flow.StaffOverrideTapped())
    assert effects == [flow.BindCode(ticket="ABCDEFGH0", code=CODE, typed="1234", confirmed=True, override=True)]
    state, _ = run(state, flow.BindFailed("flow.error.bind_failed"))
    assert state.stage == "override" and not state.busy and state.error == "flow.error.bind_failed"
    state, effects = run(state, flow.BackTapped())
    assert isinstance(state, flow.OperatorMenu)


def test_binding_locks_the_code_after_misses() -> None:
    state = flow.BindTicket(ctx=welcome().ctx, stage="last4", ticket="ABCDEFGH0", code=CODE)
    state, _ = run(state, *[flow.KeyPressed(k) for k in "0000"], flow.SubmitTapped(),
                   flow.BindFailed("flow.error.code_locked", 0))
    assert state.stage == "code" and state.code is None and state.error == "flow.error.code_locked"


def test_station_status() -> None:
    state, effects = run(menu(), flow.MenuChosen(flow.MENU_STATUS))
    assert isinstance(state, flow.StationStatus) and state.busy and effects == [flow.GatherHealth()]
    items = (flow.HealthItem("disk", True, "12.0 GB"), flow.HealthItem("server", False, "", "x"))
    state, _ = run(state, flow.HealthReported(items))
    assert state.items == items and not state.busy
    state, effects = run(state, flow.SubmitTapped())
    assert effects == [flow.GatherHealth()]


def test_batch_setup() -> None:
    state, _ = run(menu(), flow.MenuChosen(flow.MENU_BATCH))
    assert isinstance(state, flow.BatchSetup) and state.typed == "1S95KT"
    state, effects = run(state, flow.FieldEdited("feature_code", "ab"), flow.SubmitTapped())
    assert state.error == "batch.bad_feature_code" and effects == []
    state, effects = run(state, flow.FieldEdited("feature_code", " 7q2w9e "), flow.SubmitTapped())
    assert effects == [flow.FetchBatch(feature_code="7Q2W9E")]
    other = batch(feature_code="7Q2W9E", school_name="另一所大学")
    state, _ = run(state, flow.BatchLoaded(other, offline=True))
    assert state.ctx.batch == other and state.offline and state.loaded == other
    state, _ = run(state, flow.BackTapped(), flow.BackTapped())
    assert isinstance(state, flow.Welcome) and state.ctx.batch == other


def test_batch_not_found_is_inline() -> None:
    state, _ = run(flow.BatchSetup(ctx=welcome().ctx, typed="ZZZZ"), flow.SubmitTapped(),
                   flow.BatchFailed("flow.error.batch_unknown"))
    assert state.error == "flow.error.batch_unknown" and not state.busy


def test_statistics() -> None:
    state, effects = run(menu(), flow.MenuChosen(flow.MENU_STATS))
    assert isinstance(state, flow.Statistics) and effects == [flow.LoadStats()]
    state, _ = run(state, flow.StatsLoaded((("captured", 5),)))
    assert state.items == (("captured", 5),)


def test_leave_kiosk_mode_is_an_effect_after_a_confirmation() -> None:
    state, effects = run(menu(), flow.MenuChosen(flow.MENU_QUIT))
    assert isinstance(state, flow.OperatorMenu) and state.confirm_quit and effects == []
    assert state.notice == "flow.operator.confirm_quit"
    state, effects = run(state, flow.MenuChosen(flow.MENU_QUIT))
    assert isinstance(state, flow.OperatorMenu) and effects == [flow.Quit()]


def test_operator_mode_times_out_to_welcome() -> None:
    state, effects = run(menu(), flow.Tick(0.0), flow.Tick(60.0))
    assert isinstance(state, flow.Welcome) and "WipeSession" in kinds(effects)
