"""The headwear leave in the pure flow: granted by staff for the next capture only, gone when that session ends."""

from __future__ import annotations

import dataclasses

from kiosk import flow
from tests.flow_fakes import CODE, PHOTO, SETTINGS, kinds, run, welcome


def granted() -> flow.Welcome:
    """Welcome after staff granted the leave in the menu and closed it."""
    state, effects = run(flow.OperatorMenu(ctx=welcome().ctx), flow.MenuChosen(flow.MENU_HEADWEAR))
    assert isinstance(state, flow.OperatorMenu) and state.ctx.headwear_leave
    assert state.notice == "staff.headwear.granted"
    assert effects == [flow.GrantHeadwear(granted=True)]  # audited by the station
    state, _ = run(state, flow.BackTapped())
    assert isinstance(state, flow.Welcome) and state.ctx.headwear_leave  # closing the menu keeps it
    return state


def to_capture(state: flow.State) -> tuple[flow.State, list[flow.Effect]]:
    return run(state, flow.StartTapped(), flow.CodeScanned("KC1.x"), flow.CodeAccepted(CODE),  # type: ignore[arg-type]
               *[flow.KeyPressed(k) for k in "123X"], flow.SubmitTapped(), flow.LastFourOk("123X"),
               flow.ThatsMeTapped(), flow.AgreeTapped())


def test_a_granted_leave_reaches_the_analyser_and_the_record_then_ends_with_done() -> None:
    state, effects = to_capture(granted())
    assert isinstance(state, flow.Capture) and state.ctx.headwear_leave
    assert effects[-1] == flow.StartCamera(purpose="portrait", allow_headwear=True)
    # a retake is the same session: the leave holds
    state, _ = run(state, flow.ShutterTapped(), flow.PhotoReady(PHOTO), flow.RetakeTapped())
    assert isinstance(state, flow.Capture) and state.ctx.headwear_leave
    state, effects = run(state, flow.ShutterTapped(), flow.PhotoReady(PHOTO), flow.AcceptTapped())
    save = effects[-1]
    assert isinstance(save, flow.SaveRecord) and save.headwear_allowed
    state, effects = run(state, flow.Saved(flow.Receipt(record_id="r", short_id="R")))
    assert isinstance(state, flow.Done) and not state.ctx.headwear_leave
    # the next student is captured without it
    state, effects = to_capture(run(state, flow.FinishTapped())[0])
    assert isinstance(state, flow.Capture) and not state.ctx.headwear_leave
    assert effects[-1] == flow.StartCamera(purpose="portrait", allow_headwear=False)
    state, effects = run(state, flow.ShutterTapped(), flow.PhotoReady(PHOTO), flow.AcceptTapped())
    assert isinstance(effects[-1], flow.SaveRecord) and not effects[-1].headwear_allowed


def test_a_cancelled_session_ends_the_leave() -> None:
    state, _ = to_capture(granted())
    state, effects = run(state, flow.BackTapped())
    assert isinstance(state, flow.Welcome) and not state.ctx.headwear_leave and "WipeSession" in kinds(effects)
    # cancelled before the capture started (at the scan screen) ends it too
    state, _ = run(granted(), flow.StartTapped(), flow.BackTapped())
    assert isinstance(state, flow.Welcome) and not state.ctx.headwear_leave


def test_a_timed_out_session_ends_the_leave() -> None:
    state, _ = to_capture(granted())
    state, _ = run(state, flow.Tick(0.0), flow.Tick(SETTINGS.idle_timeout_s + 1))
    assert isinstance(state, flow.StillThere) and state.ctx.headwear_leave  # still there? nothing lost yet
    state, _ = run(state, flow.Tick(SETTINGS.idle_timeout_s + 2), flow.Tick(SETTINGS.idle_timeout_s + 3 +
                                                                            SETTINGS.still_there_s))
    assert isinstance(state, flow.Welcome) and not state.ctx.headwear_leave


def test_the_leave_reaches_a_codeless_capture_and_can_be_withdrawn() -> None:
    state, _ = run(flow.OperatorMenu(ctx=welcome().ctx), flow.MenuChosen(flow.MENU_HEADWEAR),
                   flow.MenuChosen(flow.MENU_CODELESS), flow.SubmitTapped(), flow.CodelessOk("13800000000", "1234"),
                   flow.AgreeTapped())
    assert isinstance(state, flow.Capture) and state.student.codeless and state.ctx.headwear_leave
    menu = flow.OperatorMenu(ctx=dataclasses.replace(welcome().ctx, headwear_leave=True))
    state, effects = run(menu, flow.MenuChosen(flow.MENU_HEADWEAR))
    assert not state.ctx.headwear_leave and state.notice == "staff.headwear.withdrawn"
    assert effects == [flow.GrantHeadwear(granted=False)]
