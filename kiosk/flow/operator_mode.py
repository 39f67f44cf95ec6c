"""Operator mode's transitions: PIN, codeless capture, binding, status, batch, statistics.

Called by ``kiosk.flow.step`` for operator states; pure like the rest of the
flow. A codeless capture leaves operator mode for the student screens
(fee notice, Capture, Review, Done) and ends on Welcome like any session.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from kiosk.batch import BatchError, normalise_feature_code
from kiosk.flow import LAST_FOUR_MAX, PIN_MAX, Outcome, after_identified, typed_last_four, welcome
from kiosk.flow.effects import (
    BindCode,
    CheckCodeless,
    CheckPin,
    FetchBatch,
    FindTicket,
    GatherHealth,
    LoadStats,
    ParseCode,
    Quit,
    WipeSession,
)
from kiosk.flow.events import (
    BackspacePressed,
    BackTapped,
    BatchFailed,
    BatchLoaded,
    BindFailed,
    Bound,
    ClearPressed,
    CodeAccepted,
    CodelessInvalid,
    CodelessOk,
    CodelessUnchecked,
    CodeRejected,
    CodeScanned,
    Event,
    FieldEdited,
    FinishTapped,
    HealthReported,
    KeyPressed,
    MenuChosen,
    PinAccepted,
    PinLockedOut,
    PinRejected,
    StatsLoaded,
    SubmitTapped,
    TicketFound,
    TicketRejected,
)
from kiosk.flow.headwear import on_headwear_item
from kiosk.flow.staff_events import (
    BindChecked,
    StaffOverrideTapped,
)
from kiosk.flow.states import (
    MENU_BATCH,
    MENU_BIND,
    MENU_CODELESS,
    MENU_HEADWEAR,
    MENU_QUIT,
    MENU_STATS,
    MENU_STATUS,
    BatchSetup,
    BindTicket,
    CodelessForm,
    OperatorMenu,
    PinEntry,
    State,
    StationStatus,
    Statistics,
    Student,
    TicketDesk,
    merge_retakes,
)

#: longest values the codeless form keeps (the controller validates the rest)
FIELD_MAX = {"phone": 20, "id_last4": LAST_FOUR_MAX, "name": 40, "ticket": 24, "feature_code": 8}


def operator_frame_use(state: State) -> str | None:
    """What camera frames are for on an operator screen."""
    if isinstance(state, BindTicket) and state.stage in ("ticket", "code"):
        return "scan"
    if isinstance(state, TicketDesk) and state.shown is None:
        return "scan"  # the claim ticket's QR, held up by the student
    return None


def operator_step(state: State, event: Event) -> Outcome:
    """The outcome of ``event`` on an operator screen; None when it does not apply."""
    handler = _HANDLERS.get(type(state))
    return None if handler is None else handler(state, event)


def _menu(s: State, notice: str | None = None) -> OperatorMenu:
    return OperatorMenu(ctx=s.ctx, notice=notice)


def _on_pin(s: PinEntry, e: Event) -> Outcome:
    if s.busy:
        if isinstance(e, PinAccepted):
            return _menu(s), ()
        if isinstance(e, PinRejected):
            return dataclasses.replace(s, busy=False, typed="", tries_left=e.tries_left,
                                       error="flow.operator.pin_wrong"), ()
        if isinstance(e, PinLockedOut):
            return dataclasses.replace(s, busy=False, typed="", tries_left=0, locked_minutes=e.minutes,
                                       error="flow.operator.locked"), ()
        return None
    if isinstance(e, KeyPressed):
        if not e.key.isdigit() or len(e.key) != 1 or len(s.typed) >= PIN_MAX:
            return None
        return dataclasses.replace(s, typed=s.typed + e.key, error=None), ()
    if isinstance(e, BackspacePressed):
        return dataclasses.replace(s, typed=s.typed[:-1]), ()
    if isinstance(e, ClearPressed):
        return dataclasses.replace(s, typed=""), ()
    if isinstance(e, SubmitTapped) and s.typed:
        return dataclasses.replace(s, busy=True, error=None), (CheckPin(pin=s.typed),)
    if isinstance(e, BackTapped):
        return welcome(s.ctx), ()
    return None


def _on_menu(s: OperatorMenu, e: Event) -> Outcome:
    if isinstance(e, MenuChosen):
        item = e.item
        if item == MENU_CODELESS:
            if s.ctx.batch is None:
                return dataclasses.replace(s, error="flow.error.no_batch", notice=None), ()
            if not s.ctx.batch.allows("codeless"):
                return dataclasses.replace(s, error="flow.error.codeless_not_allowed", notice=None), ()
            return CodelessForm(ctx=s.ctx), ()
        if item == MENU_BIND:
            return BindTicket(ctx=s.ctx), ()
        if item == MENU_STATUS:
            return StationStatus(ctx=s.ctx, busy=True), (GatherHealth(camera_ok=s.ctx.camera_ok),)
        if item == MENU_BATCH:
            typed = s.ctx.batch.feature_code if s.ctx.batch else ""
            # nothing is "loaded" yet: the screen names the current batch, and says "fetched" only after a fetch
            return BatchSetup(ctx=s.ctx, typed=typed), ()
        if item == MENU_STATS:
            return Statistics(ctx=s.ctx, busy=True), (LoadStats(),)
        if item == MENU_HEADWEAR:
            return on_headwear_item(s)
        if item == MENU_QUIT:
            return s, (Quit(),)
        return None
    if isinstance(e, BackTapped | FinishTapped):
        return welcome(s.ctx), (WipeSession(),)
    return None


def _edit(s: Any, e: FieldEdited, allowed: tuple[str, ...], rename: dict[str, str] | None = None) -> Outcome:
    if e.field not in allowed:
        return None
    value = e.value[: FIELD_MAX[e.field]]
    attr = (rename or {}).get(e.field, e.field)
    return dataclasses.replace(s, **{attr: value}, error=None), ()


def _on_codeless(s: CodelessForm, e: Event) -> Outcome:
    if s.busy:
        if isinstance(e, CodelessOk):
            student = Student(code=None, id_last4=e.id_last4, codeless=True, phone=e.phone, name=e.name)
            return after_identified(s.ctx, student), ()
        if isinstance(e, CodelessInvalid):
            return dataclasses.replace(s, busy=False, error=e.error_key, invalid_field=e.field), ()
        if isinstance(e, CodelessUnchecked):
            return dataclasses.replace(s, busy=False, error=e.error_key), ()
        return None
    if isinstance(e, FieldEdited):
        if e.field not in ("phone", "id_last4", "name"):
            return None
        value = e.value[: FIELD_MAX[e.field]]
        changes: dict[str, Any] = {e.field: value, "error": None, "invalid_field": None}
        return dataclasses.replace(s, **changes), ()
    if isinstance(e, SubmitTapped):
        return (dataclasses.replace(s, busy=True, error=None, invalid_field=None),
                (CheckCodeless(phone=s.phone, id_last4=s.id_last4, name=s.name),))
    if isinstance(e, BackTapped):
        return _menu(s), (WipeSession(),)
    return None


def _on_bind(s: BindTicket, e: Event) -> Outcome:
    if isinstance(e, BackTapped):
        return _menu(s), (WipeSession(),)
    if s.busy:
        return _bind_result(s, e)
    if s.stage == "ticket":
        if isinstance(e, FieldEdited):
            return _edit(s, e, ("ticket",), {"ticket": "ticket_text"})
        if isinstance(e, SubmitTapped) and s.ticket_text.strip():
            return dataclasses.replace(s, busy=True, error=None), (FindTicket(text=s.ticket_text),)
        if isinstance(e, CodeScanned):
            return dataclasses.replace(s, busy=True, error=None), (FindTicket(text=e.payload),)
    elif s.stage == "code":
        if isinstance(e, CodeScanned):
            parse = ParseCode(payload=e.payload, batch=s.ctx.batch, purpose="bind")
            return dataclasses.replace(s, busy=True, error=None), (parse,)
    elif s.stage == "last4":
        return _bind_last_four(s, e)
    elif s.stage in ("confirm", "override"):
        return _bind_confirm(s, e)
    elif s.stage == "done" and isinstance(e, SubmitTapped):
        return BindTicket(ctx=s.ctx), (WipeSession(),)
    elif s.stage == "done" and isinstance(e, FinishTapped):
        return _menu(s), (WipeSession(),)
    return None


def _bind_last_four(s: BindTicket, e: Event) -> Outcome:
    if isinstance(e, KeyPressed):
        typed = typed_last_four(s.typed, e.key)
        return None if typed is None else (dataclasses.replace(s, typed=typed, error=None), ())
    if isinstance(e, FieldEdited):
        return _edit(s, e, ("id_last4",), {"id_last4": "typed"})
    if isinstance(e, BackspacePressed):
        return dataclasses.replace(s, typed=s.typed[:-1], error=None), ()
    if isinstance(e, ClearPressed):
        return dataclasses.replace(s, typed="", error=None), ()
    if isinstance(e, SubmitTapped) and s.ticket is not None and s.code is not None:
        if len(s.typed) < 4:
            return dataclasses.replace(s, error="flow.error.last_four_short"), ()
        return dataclasses.replace(s, busy=True, error=None), (BindCode(ticket=s.ticket, code=s.code, typed=s.typed),)
    return None


def _bind_confirm(s: BindTicket, e: Event) -> Outcome:
    """The operator compares the record's photo and name with the code's; a mismatch needs a second "yes"."""
    if s.ticket is None or s.code is None:
        return None
    if isinstance(e, SubmitTapped) and s.stage == "confirm":
        if s.mismatch:
            return dataclasses.replace(s, stage="override", error="flow.error.bind_override"), ()
        bind = BindCode(ticket=s.ticket, code=s.code, typed=s.typed, confirmed=True)
        return dataclasses.replace(s, busy=True, error=None), (bind,)
    if isinstance(e, StaffOverrideTapped) and s.stage == "override":
        bind = BindCode(ticket=s.ticket, code=s.code, typed=s.typed, confirmed=True, override=True)
        return dataclasses.replace(s, busy=True, error=None), (bind,)
    return None


def _bind_result(s: BindTicket, e: Event) -> Outcome:
    if isinstance(e, TicketFound) and s.stage == "ticket":
        return dataclasses.replace(s, busy=False, stage="code", ticket=e.ticket,
                                   record_short_id=e.record_short_id), ()
    if isinstance(e, TicketRejected) and s.stage == "ticket":
        return dataclasses.replace(s, busy=False, error=e.error_key), ()
    if isinstance(e, CodeAccepted) and s.stage == "code":
        return dataclasses.replace(s, busy=False, stage="last4", code=e.code, typed="", tries_left=None), ()
    if isinstance(e, CodeRejected) and s.stage == "code":
        return dataclasses.replace(s, busy=False, error=e.error_key, error_params=e.params), ()
    if isinstance(e, BindChecked) and s.stage == "last4":
        return dataclasses.replace(s, busy=False, stage="confirm", record=e.record, mismatch=e.mismatch,
                                   error="flow.error.bind_mismatch" if e.mismatch else None), ()
    if isinstance(e, Bound) and s.stage in ("confirm", "override"):
        return dataclasses.replace(s, busy=False, stage="done", receipt=e.receipt, code=None, typed=""), ()
    if isinstance(e, BindFailed) and s.stage in ("confirm", "override"):
        return dataclasses.replace(s, busy=False, error=e.error_key), ()
    if isinstance(e, BindFailed) and s.stage == "last4":
        if e.tries_left == 0:
            # the code is locked now: drop it, the operator may scan another or call the student back
            return dataclasses.replace(s, busy=False, stage="code", code=None, typed="", tries_left=0,
                                       error=e.error_key), ()
        return dataclasses.replace(s, busy=False, typed="", tries_left=e.tries_left, error=e.error_key), ()
    return None


def _on_health(s: StationStatus, e: Event) -> Outcome:
    if isinstance(e, HealthReported) and s.busy:
        return dataclasses.replace(s, busy=False, items=e.items), ()
    if isinstance(e, SubmitTapped) and not s.busy:
        return dataclasses.replace(s, busy=True), (GatherHealth(camera_ok=s.ctx.camera_ok),)
    if isinstance(e, BackTapped):
        return _menu(s), ()
    return None


def _on_batch(s: BatchSetup, e: Event) -> Outcome:
    if s.busy:
        if isinstance(e, BatchLoaded):
            # retakes are counted per collection day: another batch starts from the counts kept for it
            used = merge_retakes(s.ctx.retakes_used, e.retakes) if s.ctx.batch == e.batch else e.retakes
            ctx = dataclasses.replace(s.ctx, batch=e.batch, retakes_used=used)
            return dataclasses.replace(s, ctx=ctx, busy=False, loaded=e.batch, offline=e.offline), ()
        if isinstance(e, BatchFailed):
            return dataclasses.replace(s, busy=False, error=e.error_key, error_params=e.params), ()
        return None
    if isinstance(e, FieldEdited):
        return _edit(s, e, ("feature_code",), {"feature_code": "typed"})
    if isinstance(e, SubmitTapped):
        try:
            code = normalise_feature_code(s.typed)
        except BatchError as exc:
            return dataclasses.replace(s, error=exc.key), ()
        return dataclasses.replace(s, busy=True, error=None, typed=code), (FetchBatch(feature_code=code),)
    if isinstance(e, BackTapped | FinishTapped):
        return _menu(s), ()
    return None


def _on_stats(s: Statistics, e: Event) -> Outcome:
    if isinstance(e, StatsLoaded) and s.busy:
        return dataclasses.replace(s, busy=False, items=e.items), ()
    if isinstance(e, SubmitTapped) and not s.busy:
        return dataclasses.replace(s, busy=True), (LoadStats(),)
    if isinstance(e, BackTapped):
        return _menu(s), ()
    return None


_HANDLERS: dict[type, Callable[[Any, Event], Outcome]] = {
    PinEntry: _on_pin,
    OperatorMenu: _on_menu,
    CodelessForm: _on_codeless,
    BindTicket: _on_bind,
    StationStatus: _on_health,
    BatchSetup: _on_batch,
    Statistics: _on_stats,
}
