"""Transitions of staff work that cut across screens: calls for help, decisions only staff may take, Done's extras.

Called by ``kiosk.flow.step`` before the screen's own handler; pure like the
rest of the flow. A call for staff (any ``CallStaff`` effect) sets
``ctx.staff_alert``, which every screen shows until staff acknowledge it in
operator mode. A student whose code is good but whom the server could not be
asked about (a photo taken at another station?) is neither captured silently
nor turned away: staff decide, behind the operator PIN. The Done screen keeps
a codeless student's claim ticket up until staff confirm the student has it,
and takes a phone number for the review result with explicit consent.
"""

from __future__ import annotations

import dataclasses

from kiosk.flow.effects import AcknowledgeHelp, CallStaff, Effect, FindRecords, Quit, SaveContact, UnlockCode
from kiosk.flow.events import (
    BackspacePressed,
    BackTapped,
    ClearPressed,
    CodeLockedOut,
    CodeScanned,
    Event,
    FieldEdited,
    FinishTapped,
    KeyPressed,
    MenuChosen,
    PinAccepted,
    SubmitTapped,
)
from kiosk.flow.staff_events import (
    CodeUnconfirmed,
    CodeUnlocked,
    ContactRefused,
    ContactSaved,
    ContactTapped,
    HelpAcknowledged,
    HelpUnacknowledged,
    RecordChosen,
    RecordsFound,
    RecordsUnavailable,
    StaffOverrideTapped,
    TicketHandedTapped,
)
from kiosk.flow.states import (
    MENU_HELP_DONE,
    MENU_QUIT,
    MENU_TICKETS,
    Done,
    OperatorMenu,
    PinEntry,
    ScanCode,
    State,
    StatusShown,
    TicketDesk,
    Verify,
    Welcome,
)

Result = tuple[State, tuple[Effect, ...]]

#: a mainland mobile number: what the review-result notice is sent to
PHONE_LENGTH = 11
#: longest ticket-desk entry: a phone number, or a ticket with its hyphens
DESK_MAX = {"phone": 11, "ticket": 11}
DESK_TICKET_KEYS = frozenset("0123456789ABCDEFGHJKMNPQRSTVWXYZ-")


def staff_step(state: State, event: Event) -> Result | None:
    """The outcome of ``event`` when it is staff work; None to let the screen's handler decide."""
    if isinstance(event, HelpAcknowledged):
        ctx = dataclasses.replace(state.ctx, staff_alert=None)
        if isinstance(state, OperatorMenu):
            return dataclasses.replace(state, ctx=ctx, busy=False, notice="flow.operator.help_acknowledged"), ()
        return dataclasses.replace(state, ctx=ctx), ()
    if isinstance(event, HelpUnacknowledged) and isinstance(state, OperatorMenu) and state.busy:
        return dataclasses.replace(state, busy=False, error=event.error_key), ()
    if isinstance(event, CodeUnconfirmed) and state.busy and isinstance(state, Welcome | ScanCode | StatusShown):
        return ScanCode(ctx=state.ctx, unconfirmed=event.code, error="flow.error.server_unasked"), ()
    if isinstance(state, ScanCode) and not state.busy and isinstance(event, StaffOverrideTapped):
        # staff decide, behind the PIN: a student at the screen cannot let themselves through
        if state.unconfirmed is not None:
            return PinEntry(ctx=state.ctx, resume=state.unconfirmed), ()
        if state.locked is not None:
            return PinEntry(ctx=state.ctx, unlock=state.locked), ()
    if isinstance(state, ScanCode) and isinstance(event, CodeScanned) and (state.locked or state.unconfirmed):
        from kiosk.flow import step

        return step(dataclasses.replace(state, locked=None, unconfirmed=None), event)
    if isinstance(state, PinEntry) and state.busy and isinstance(event, PinAccepted):
        # staff deciding at the station have answered the call that brought them: it is acknowledged too
        answered: tuple[Effect, ...] = (AcknowledgeHelp(),) if state.ctx.staff_alert is not None else ()
        if state.resume is not None:
            return Verify(ctx=state.ctx, code=state.resume), answered
        if state.unlock is not None:
            return Verify(ctx=state.ctx, code=state.unlock, busy=True), (UnlockCode(code=state.unlock), *answered)
    if isinstance(state, Verify) and state.busy:
        if isinstance(event, CodeLockedOut):
            # as the screen's own rule, and the code kept so that staff can lift its lock
            return (ScanCode(ctx=state.ctx, error="flow.error.code_locked", staff_called=True, locked=state.code),
                    (CallStaff(reason="code_locked"),))
        if isinstance(event, CodeUnlocked):
            return dataclasses.replace(state, busy=False, error=None, tries_left=None, typed=""), ()
    if isinstance(state, Done):
        return _on_done(state, event)
    if isinstance(state, OperatorMenu) and isinstance(event, MenuChosen):
        return _on_menu(state, event)
    if isinstance(state, TicketDesk):
        return _on_desk(state, event)
    return None


def raise_alert(state: State, effects: tuple[Effect, ...]) -> State:
    """``state`` with the reason of a call for staff among ``effects`` kept in its context."""
    for effect in effects:
        if isinstance(effect, CallStaff) and state.ctx.staff_alert is None:
            return dataclasses.replace(state, ctx=dataclasses.replace(state.ctx, staff_alert=effect.reason))
    return state


def _on_menu(s: OperatorMenu, e: MenuChosen) -> Result | None:
    if e.item == MENU_HELP_DONE:
        if s.ctx.staff_alert is None or s.busy:
            return s, ()
        return dataclasses.replace(s, busy=True, error=None, notice=None), (AcknowledgeHelp(),)
    if e.item == MENU_QUIT:
        if not s.confirm_quit:
            return dataclasses.replace(s, confirm_quit=True, error=None, notice="flow.operator.confirm_quit"), ()
        return s, (Quit(),)
    if e.item == MENU_TICKETS:
        return TicketDesk(ctx=s.ctx), ()
    return None


def _on_done(s: Done, e: Event) -> Result | None:
    if isinstance(e, TicketHandedTapped) and s.receipt.ticket is not None:
        return dataclasses.replace(s, ticket_confirmed=True), ()
    if isinstance(e, FinishTapped | BackTapped) and not s.may_finish:
        return s, ()  # the claim ticket is the student's only way to their record: staff confirm first
    if s.contact_open:
        return _on_contact(s, e)
    if isinstance(e, ContactTapped) and s.receipt.has_code and not s.contact_saved:
        return dataclasses.replace(s, contact_open=True, phone="", error=None), ()
    return None


def _on_contact(s: Done, e: Event) -> Result | None:
    if s.busy:
        if isinstance(e, ContactSaved):
            return dataclasses.replace(s, busy=False, contact_open=False, contact_saved=True, phone=""), ()
        if isinstance(e, ContactRefused):
            return dataclasses.replace(s, busy=False, error=e.error_key), ()
        return None
    if isinstance(e, KeyPressed):
        if not (len(e.key) == 1 and e.key.isdigit() and e.key.isascii()) or len(s.phone) >= PHONE_LENGTH:
            return s, ()
        return dataclasses.replace(s, phone=s.phone + e.key, error=None), ()
    if isinstance(e, FieldEdited) and e.field == "phone":
        return dataclasses.replace(s, phone=e.value[:20], error=None), ()
    if isinstance(e, BackspacePressed):
        return dataclasses.replace(s, phone=s.phone[:-1], error=None), ()
    if isinstance(e, ClearPressed):
        return dataclasses.replace(s, phone="", error=None), ()
    if isinstance(e, SubmitTapped):
        # the consent is this tap: the button says what the number is for and that it is optional
        return (dataclasses.replace(s, busy=True, error=None),
                (SaveContact(record_id=s.receipt.record_id, phone=s.phone),))
    if isinstance(e, BackTapped):
        return dataclasses.replace(s, contact_open=False, phone="", error=None), ()
    return None


def _on_desk(s: TicketDesk, e: Event) -> Result | None:
    if s.busy:
        if isinstance(e, RecordsFound):
            shown = e.records[0] if len(e.records) == 1 and not e.listed else None
            error = "flow.desk.none" if not e.records else None
            return dataclasses.replace(s, busy=False, records=e.records, listed=e.listed, shown=shown,
                                       error=error), ()
        if isinstance(e, RecordsUnavailable):
            return dataclasses.replace(s, busy=False, error=e.error_key), ()
        return s, ()
    if isinstance(e, BackTapped):
        if s.shown is not None:
            return dataclasses.replace(s, shown=None), ()
        return OperatorMenu(ctx=s.ctx), ()
    if isinstance(e, MenuChosen) and e.item in ("phone", "ticket"):
        # back to a keypad: the waiting list gives way to it
        return dataclasses.replace(s, mode=e.item, typed="", error=None, shown=None, records=(), listed=False), ()
    if isinstance(e, MenuChosen) and e.item == "waiting":
        return dataclasses.replace(s, busy=True, error=None, shown=None), (FindRecords(query="", mode="waiting"),)
    if isinstance(e, RecordChosen) and 0 <= e.index < len(s.records):
        return dataclasses.replace(s, shown=s.records[e.index]), ()
    if isinstance(e, CodeScanned):
        return (dataclasses.replace(s, busy=True, error=None, mode="ticket", shown=None),
                (FindRecords(query=e.payload, mode="ticket"),))
    if isinstance(e, KeyPressed):
        key = e.key.upper()
        allowed = key.isdigit() if s.mode == "phone" else key in DESK_TICKET_KEYS
        if len(key) != 1 or not allowed or len(s.typed) >= DESK_MAX[s.mode]:
            return s, ()
        return dataclasses.replace(s, typed=s.typed + key, error=None), ()
    if isinstance(e, FieldEdited) and e.field == "query":
        return dataclasses.replace(s, typed=e.value[:24], error=None), ()
    if isinstance(e, BackspacePressed):
        return dataclasses.replace(s, typed=s.typed[:-1], error=None), ()
    if isinstance(e, ClearPressed):
        return dataclasses.replace(s, typed="", error=None), ()
    if isinstance(e, SubmitTapped) and s.typed:
        return (dataclasses.replace(s, busy=True, error=None, shown=None),
                (FindRecords(query=s.typed, mode=s.mode),))
    return None
