"""The student screens' transitions: Welcome to Done, the attract screen and "still there?".

Called by ``kiosk.flow.step`` through ``screen_step``, after staff work had its
say; pure like the rest of the flow. Operator screens are in
``kiosk.flow.operator_mode``, the status screen's in ``kiosk.flow.status_lookup``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from kiosk.flow.effects import (
    CallStaff,
    CheckLastFour,
    CountRetake,
    Effect,
    LookupReceipt,
    LookupStatus,
    ParseCode,
    PrintSlip,
    SaveRecord,
    TakePhoto,
    WipeSession,
)
from kiosk.flow.events import (
    AcceptTapped,
    AgreeTapped,
    AlreadyCaptured,
    AutoShot,
    BackspacePressed,
    BackTapped,
    ClearPressed,
    CodeAccepted,
    CodeLockedOut,
    CodeRejected,
    CodeScanned,
    ContinueTapped,
    Event,
    FeeAcknowledged,
    FinishTapped,
    Guidance,
    KeyPressed,
    LastFourOk,
    LastFourUnchecked,
    LastFourWrong,
    NoCodeTapped,
    NotMeTapped,
    OperatorRequested,
    PhotoFailed,
    PhotoReady,
    ReceiptRefreshed,
    RetakeTapped,
    RetryTapped,
    Saved,
    SaveFailed,
    ShutterTapped,
    SlipFailed,
    StartTapped,
    StatusTapped,
    SubmitTapped,
    ThatsMeTapped,
)
from kiosk.flow.states import (
    Attract,
    Capture,
    Confirm,
    Consent,
    Context,
    Done,
    FeeNotice,
    PinEntry,
    Receipt,
    Review,
    Saving,
    ScanCode,
    State,
    StatusShown,
    StillThere,
    Student,
    Verify,
    Welcome,
)
from kiosk.flow.status_lookup import on_status

Result = tuple[State, tuple[Effect, ...]]
Outcome = Result | None

#: characters the Verify keypad offers (full-width forms are normalised by the controller)
LAST_FOUR_KEYS = frozenset("0123456789X()")
#: longest last-four entry accepted: "3(7)" is four, some documents need a spare
LAST_FOUR_MAX = 6
PIN_MAX = 12


def welcome(ctx: Context) -> Welcome:
    """A fresh Welcome for ``ctx``: no student data survives in it."""
    return Welcome(ctx=ctx)



def screen_step(state: State, event: Event) -> Outcome:
    """The state's own transition for ``event``, without the idle and camera bookkeeping of ``step``."""
    handler = _HANDLERS.get(type(state))
    if handler is None:
        from kiosk.flow.operator_mode import operator_step

        return operator_step(state, event)
    return handler(state, event)


def after_identified(ctx: Context, student: Student) -> State:
    """The screen after a student is identified: the consent notice (then the fee notice or Capture).

    The student's retakes start from what they used earlier today, so that
    waiting out a timeout and starting again does not give a fresh allowance.
    """
    student = dataclasses.replace(student, retakes=max(student.retakes, ctx.retakes_of(student.retake_key())))
    return Consent(ctx=ctx, student=student)


def after_consent(ctx: Context, student: Student) -> State:
    """The screen after the student agreed: the fee notice when due, else Capture."""
    if ctx.batch is not None and ctx.batch.fee_required:
        return FeeNotice(ctx=ctx, student=student)
    return Capture(ctx=ctx, student=student)


def _on_welcome(s: Welcome, e: Event) -> Outcome:
    if isinstance(e, StartTapped):
        if s.ctx.batch is None:
            return dataclasses.replace(s, error="flow.error.no_batch"), ()
        if not s.ctx.batch.allows("code"):
            return dataclasses.replace(s, error="flow.error.code_not_allowed"), ()
        return ScanCode(ctx=s.ctx), ()
    if isinstance(e, StatusTapped):
        return StatusShown(ctx=s.ctx), ()
    if isinstance(e, NoCodeTapped):
        # the way that exists for a student without a code: staff are called to the scan screen's "no code?"
        return ScanCode(ctx=s.ctx, staff_called=True), (CallStaff(reason="no_code"),)
    if isinstance(e, CodeScanned) and not s.busy:
        # holding the code up is the natural first move: start the capture, or show the status of a photo
        # already in review (the controller answers AlreadyCaptured); without a batch only the status is read
        if s.ctx.batch is not None and s.ctx.batch.allows("code"):
            parse = ParseCode(payload=e.payload, batch=s.ctx.batch, purpose="capture")
            return dataclasses.replace(s, busy=True, error=None, reading="capture"), (parse,)
        return (dataclasses.replace(s, busy=True, error=None, reading="status"),
                (ParseCode(payload=e.payload, purpose="status"),))
    if isinstance(e, CodeAccepted) and s.busy:
        if s.reading == "capture":
            return Verify(ctx=s.ctx, code=e.code), ()
        return StatusShown(ctx=s.ctx, busy=True, code=e.code), (LookupStatus(code=e.code),)
    if isinstance(e, AlreadyCaptured) and s.busy:
        return StatusShown(ctx=s.ctx, code=e.code, view=e.view, error="flow.status.already_captured"), ()
    if isinstance(e, CodeRejected) and s.busy:
        return dataclasses.replace(s, busy=False, reading="", error=e.error_key, error_params=e.params), ()
    if isinstance(e, OperatorRequested):
        return PinEntry(ctx=s.ctx), ()
    return None


def _on_attract(s: Attract, e: Event) -> Outcome:
    if isinstance(e, ContinueTapped):  # a tap anywhere on the attract screen
        return welcome(s.ctx), ()
    if isinstance(e, CodeScanned | StartTapped | StatusTapped | NoCodeTapped | OperatorRequested):
        return _on_welcome(welcome(s.ctx), e)
    return None


def _on_still_there(s: StillThere, e: Event) -> Outcome:
    resume = dataclasses.replace(s.resume, ctx=s.ctx, since=None)
    if isinstance(e, ContinueTapped):
        return resume, ()
    if isinstance(e, BackTapped):
        return welcome(s.ctx), (WipeSession(),)
    if isinstance(e, Guidance) and e.face:
        # someone stepped back into the oval: they are still there
        return screen_step(resume, e) or (resume, ())
    if not e.is_activity():
        # a worker's late answer belongs to the screen underneath
        outcome = screen_step(dataclasses.replace(s.resume, ctx=s.ctx), e)
        if outcome is None:
            return None
        inner, effects = outcome
        return dataclasses.replace(s, ctx=inner.ctx, resume=inner), effects
    return None


def _on_consent(s: Consent, e: Event) -> Outcome:
    if isinstance(e, AgreeTapped):
        return after_consent(s.ctx, s.student), ()
    if isinstance(e, BackTapped):
        return welcome(s.ctx), (WipeSession(),)
    return None


def _on_scan(s: ScanCode, e: Event) -> Outcome:
    if isinstance(e, CodeScanned) and not s.busy:
        return dataclasses.replace(s, busy=True, error=None), (ParseCode(payload=e.payload, batch=s.ctx.batch),)
    if isinstance(e, CodeAccepted) and s.busy:
        return Verify(ctx=s.ctx, code=e.code), ()
    if isinstance(e, AlreadyCaptured) and s.busy:
        return StatusShown(ctx=s.ctx, code=e.code, view=e.view, error="flow.status.already_captured"), ()
    if isinstance(e, CodeRejected) and s.busy:
        return dataclasses.replace(s, busy=False, error=e.error_key, error_params=e.params), ()
    if isinstance(e, NoCodeTapped):
        return dataclasses.replace(s, staff_called=True), (CallStaff(reason="no_code"),)
    if isinstance(e, BackTapped):
        return welcome(s.ctx), (WipeSession(),)
    return None


def _on_verify(s: Verify, e: Event) -> Outcome:
    if s.busy:
        if isinstance(e, LastFourOk):
            return Confirm(ctx=s.ctx, student=Student(code=s.code, id_last4=e.id_last4)), ()
        if isinstance(e, LastFourWrong):
            return dataclasses.replace(s, busy=False, typed="", tries_left=e.tries_left,
                                       error="flow.error.last_four_wrong"), ()
        if isinstance(e, LastFourUnchecked):
            return dataclasses.replace(s, busy=False, error=e.error_key), ()
        if isinstance(e, CodeLockedOut):
            return (ScanCode(ctx=s.ctx, error="flow.error.code_locked", staff_called=True),
                    (CallStaff(reason="code_locked"),))
        return None
    if isinstance(e, KeyPressed):
        typed = typed_last_four(s.typed, e.key)
        return (None if typed is None else (dataclasses.replace(s, typed=typed, error=None), ()))
    if isinstance(e, BackspacePressed):
        return dataclasses.replace(s, typed=s.typed[:-1], error=None), ()
    if isinstance(e, ClearPressed):
        return dataclasses.replace(s, typed="", error=None), ()
    if isinstance(e, SubmitTapped):
        if len(s.typed) < 4:
            return dataclasses.replace(s, error="flow.error.last_four_short"), ()
        return dataclasses.replace(s, busy=True, error=None), (CheckLastFour(code=s.code, typed=s.typed),)
    if isinstance(e, BackTapped | NotMeTapped):
        return ScanCode(ctx=s.ctx), ()
    return None


def typed_last_four(typed: str, key: str) -> str | None:
    """``typed`` with keypad ``key`` appended, or None when the key is not allowed there."""
    k = {"x": "X", "（": "(", "）": ")"}.get(key, key)
    if k not in LAST_FOUR_KEYS or len(typed) >= LAST_FOUR_MAX:
        return None
    return typed + k


def _on_confirm(s: Confirm, e: Event) -> Outcome:
    if isinstance(e, ThatsMeTapped):
        return after_identified(s.ctx, s.student), ()
    if isinstance(e, NotMeTapped | BackTapped):
        return ScanCode(ctx=s.ctx), (WipeSession(),)
    return None


def _on_fee(s: FeeNotice, e: Event) -> Outcome:
    if isinstance(e, FeeAcknowledged):
        return Capture(ctx=s.ctx, student=s.student), ()
    if isinstance(e, BackTapped):
        return welcome(s.ctx), (WipeSession(),)
    return None


def _on_capture(s: Capture, e: Event) -> Outcome:
    if s.busy:
        if isinstance(e, PhotoReady):
            return Review(ctx=s.ctx, student=s.student, photo=e.photo), ()
        if isinstance(e, PhotoFailed):
            return dataclasses.replace(s, busy=False, error=e.error_key, phase="waiting", count=0), ()
        return None
    if isinstance(e, Guidance):
        if not s.ctx.camera_ok:
            return None
        error = None if e.face else s.error
        return (dataclasses.replace(s, phase=e.phase, count=e.count, hint_key=e.hint_key, progress=e.progress,
                                    error=error), ())
    if isinstance(e, AutoShot | ShutterTapped):
        if not s.ctx.camera_ok:
            return None
        capture = e.capture if isinstance(e, AutoShot) else None
        analysis = e.analysis if isinstance(e, AutoShot) else None
        return (dataclasses.replace(s, busy=True, error=None, phase="shoot", count=0),
                (TakePhoto(capture=capture, analysis=analysis),))
    if isinstance(e, BackTapped):
        return welcome(s.ctx), (WipeSession(),)
    return None


def _on_review(s: Review, e: Event) -> Outcome:
    if isinstance(e, RetakeTapped):
        if s.retakes_left <= 0:
            return None
        student = dataclasses.replace(s.student, retakes=s.student.retakes + 1)
        # counted in the context too: a new session of this student today starts from here,
        # and kept by the station: a restart does not reset it either
        key = s.student.retake_key()
        ctx = s.ctx.with_retake(key)
        count = (CountRetake(digest=ctx.retake_digest(key), batch=ctx.batch.feature_code if ctx.batch else "",
                             used=ctx.retakes_of(key)),) if key else ()
        return Capture(ctx=ctx, student=student), count
    if isinstance(e, BackTapped):
        return welcome(s.ctx), (WipeSession(),)
    if isinstance(e, AcceptTapped):
        return (Saving(ctx=s.ctx, student=s.student, photo=s.photo, busy=True),
                (SaveRecord(student=s.student, photo=s.photo, batch=s.ctx.batch,
                            headwear_allowed=s.ctx.headwear_leave),))
    return None


def _on_saving(s: Saving, e: Event) -> Outcome:
    if s.busy:
        if isinstance(e, Saved):
            receipt = e.receipt
            effects: tuple[Effect, ...] = (WipeSession(),)
            if receipt.queue_position is None:
                effects += (LookupReceipt(record_id=receipt.record_id),)
            return Done(ctx=s.ctx, receipt=receipt), effects
        if isinstance(e, SaveFailed):
            return dataclasses.replace(s, busy=False, error=e.error_key), ()
        return None
    if isinstance(e, RetryTapped):
        save = SaveRecord(student=s.student, photo=s.photo, batch=s.ctx.batch, headwear_allowed=s.ctx.headwear_leave)
        return dataclasses.replace(s, busy=True, error=None), (save,)
    if isinstance(e, NoCodeTapped):  # "call staff" from the save-failed message
        return dataclasses.replace(s, staff_called=True), (CallStaff(reason="save_failed"),)
    return None


#: how often Done asks the station again while sync may still change the receipt
RECEIPT_REFRESH_S = 2.0


def refresh_receipt(s: Done, now: float) -> tuple[Done, tuple[Effect, ...]]:
    """Ask again what sync knows of the record while it can still change what Done shows.

    The queue position arrives with the first sync; a codeless record's ticket can
    be replaced by the server's after a clash, and the student must leave with that one.
    """
    waiting = s.receipt.queue_position is None or s.receipt.ticket is not None
    if not waiting or (s.refreshed_at is not None and now - s.refreshed_at < RECEIPT_REFRESH_S):
        return s, ()
    return dataclasses.replace(s, refreshed_at=now), (LookupReceipt(record_id=s.receipt.record_id),)


def refreshed(s: Done, news: Receipt) -> Result:
    """Done with sync's news of the record: a queue position, or the server's ticket after a clash."""
    position = s.receipt.queue_position if news.queue_position is None else news.queue_position
    receipt = dataclasses.replace(s.receipt, queue_position=position)
    if news.ticket and s.receipt.ticket and news.ticket != s.receipt.ticket:
        # the ticket the student may already have photographed (or taken on the slip) would not find
        # the record: show the new one, say so, print it, and hold the screen for staff again
        receipt = dataclasses.replace(receipt, ticket=news.ticket, ticket_display=news.ticket_display,
                                      ticket_link=news.ticket_link, print_note=None)
        return (dataclasses.replace(s, receipt=receipt, ticket_replaced=True, ticket_confirmed=False),
                (PrintSlip(receipt=receipt),))
    return dataclasses.replace(s, receipt=receipt), ()


def _on_done(s: Done, e: Event) -> Outcome:
    # worker results are not the student touching the screen: they keep the idle clock
    if isinstance(e, ReceiptRefreshed) and e.receipt.record_id == s.receipt.record_id:
        return refreshed(s, e.receipt)
    if isinstance(e, SlipFailed):
        return dataclasses.replace(s, receipt=dataclasses.replace(s.receipt, print_note="staff.slip.failed")), ()
    if isinstance(e, FinishTapped | BackTapped):
        return welcome(s.ctx), (WipeSession(),)
    return None


_HANDLERS: dict[type, Callable[[Any, Event], Outcome]] = {
    Welcome: _on_welcome,
    Attract: _on_attract,
    StillThere: _on_still_there,
    Consent: _on_consent,
    StatusShown: on_status,
    ScanCode: _on_scan,
    Verify: _on_verify,
    Confirm: _on_confirm,
    FeeNotice: _on_fee,
    Capture: _on_capture,
    Review: _on_review,
    Saving: _on_saving,
    Done: _on_done,
}
