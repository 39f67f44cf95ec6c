"""The seams between flow, station and screens: nothing the flow can produce is left without a taker.

Every state has a screen, every effect a handler, and every effect a screen
waits on a failure event that frees it: a crash in any part must never leave
a screen busy.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from kiosk import flow
from kiosk.flow.effects import Effect
from kiosk.flow.states import State
from kiosk.station import ROUTES, EffectRoute, Station, StationParts
from kiosk.store import Store
from tests.flow_fakes import CODE, PHOTO, SETTINGS, batch, student


def _concrete(base: type) -> set[type]:
    out: set[type] = set()
    for sub in base.__subclasses__():
        out.add(sub)
        out |= _concrete(sub)
    return out


#: effects nothing waits on: the screen is not busy while they run, so a failure needs no answer
ANSWERED_WITH_NOTHING = {flow.LookupReceipt, flow.StartCamera, flow.StopCamera, flow.CallStaff,
                         flow.CountRetake, flow.WipeSession, flow.Quit, flow.GrantHeadwear, flow.PrintSlip}


def test_every_effect_has_a_handler() -> None:
    assert _concrete(Effect) == set(ROUTES)


def test_every_effect_a_screen_waits_on_has_a_failure_event() -> None:
    for kind, route in ROUTES.items():
        if kind in ANSWERED_WITH_NOTHING:
            assert route.failure is None, kind
        else:
            assert route.failure is not None, kind
            assert isinstance(route.failure("error.unexpected"), flow.Event), kind


def test_every_state_has_a_screen(qtbot: Any) -> None:
    from kiosk.ui.i18n import Lang
    from kiosk.ui.screens import all_screens
    from kiosk.ui.session import SCREEN_OF

    names = {screen.name for screen in all_screens(Lang("zh"))}
    assert _concrete(State) == set(SCREEN_OF)
    assert set(SCREEN_OF.values()) <= names


def _ctx() -> flow.Context:
    return flow.Context(settings=SETTINGS, batch=batch())


#: for each effect a screen waits on: a state and an event that ask for it
ASKS: dict[type, tuple[State, flow.Event]] = {
    flow.ParseCode: (flow.ScanCode(ctx=_ctx()), flow.CodeScanned("KC1.x")),
    flow.CheckLastFour: (flow.Verify(ctx=_ctx(), code=CODE, typed="123X"), flow.SubmitTapped()),  # type: ignore[arg-type]
    flow.LookupStatus: (flow.StatusShown(ctx=_ctx(), busy=True), flow.CodeAccepted(CODE)),  # type: ignore[arg-type]
    flow.TakePhoto: (flow.Capture(ctx=_ctx(), student=student()), flow.ShutterTapped()),
    flow.SaveRecord: (flow.Review(ctx=_ctx(), student=student(), photo=PHOTO), flow.AcceptTapped()),  # type: ignore[arg-type]
    flow.CheckPin: (flow.PinEntry(ctx=_ctx(), typed="1234"), flow.SubmitTapped()),
    flow.CheckCodeless: (flow.CodelessForm(ctx=_ctx(), phone="13800000000", id_last4="1234"), flow.SubmitTapped()),
    flow.FindTicket: (flow.BindTicket(ctx=_ctx(), ticket_text="ABCD"), flow.SubmitTapped()),
    flow.BindCode: (flow.BindTicket(ctx=_ctx(), stage="last4", ticket="ABCDEFGHJ", code=CODE,  # type: ignore[arg-type]
                                    typed="123X"), flow.SubmitTapped()),
    flow.FetchBatch: (flow.BatchSetup(ctx=_ctx(), typed="1S95KT"), flow.SubmitTapped()),
    flow.GatherHealth: (flow.OperatorMenu(ctx=_ctx()), flow.MenuChosen(flow.MENU_STATUS)),
    flow.LoadStats: (flow.OperatorMenu(ctx=_ctx()), flow.MenuChosen(flow.MENU_STATS)),
    flow.AcknowledgeHelp: (flow.OperatorMenu(ctx=dataclasses.replace(_ctx(), staff_alert="no_code")),
                           flow.MenuChosen(flow.MENU_HELP_DONE)),
    flow.SaveContact: (flow.Done(ctx=_ctx(), receipt=flow.Receipt(record_id="r", short_id="R", has_code=True),
                                 contact_open=True, phone="13800138000"), flow.SubmitTapped()),
    flow.FindRecords: (flow.TicketDesk(ctx=_ctx(), typed="13800138000"), flow.SubmitTapped()),
    flow.UnlockCode: (flow.PinEntry(ctx=_ctx(), unlock=CODE, busy=True), flow.PinAccepted()),  # type: ignore[arg-type]
}


def test_the_table_of_askers_is_complete() -> None:
    assert set(ASKS) == set(ROUTES) - ANSWERED_WITH_NOTHING


@pytest.mark.parametrize("kind", sorted(ASKS, key=lambda k: k.__name__), ids=lambda k: k.__name__)
def test_a_crashing_handler_frees_the_screen_that_waits(kind: type, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(station: Station, effect: Any) -> list[flow.Event]:
        raise RuntimeError("bug")

    route = ROUTES[kind]
    monkeypatch.setitem(ROUTES, kind, EffectRoute(crash, route.failure))
    station = Station(StationParts(station_id="s1", flow=SETTINGS, store=Store.open(tmp_path / "data")))
    state, event = ASKS[kind]
    state, done = station.dispatch(state, event)
    assert kind in {type(e) for e in done}
    assert not state.busy, state


def test_a_failed_codeless_check_frees_the_form_and_keeps_what_was_typed() -> None:
    form = flow.CodelessForm(ctx=_ctx(), phone="13800000000", id_last4="1234", busy=True)
    state, effects = flow.step(form, flow.CodelessUnchecked("error.unexpected"))
    assert isinstance(state, flow.CodelessForm) and not state.busy and effects == ()
    assert state.error == "error.unexpected" and state.phone == "13800000000"
    assert flow.step(dataclasses.replace(form, busy=False), flow.CodelessUnchecked("x"))[0].error is None
