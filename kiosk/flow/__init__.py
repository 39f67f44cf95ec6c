"""The session as a pure state machine: ``step(state, event) -> (state, effects)``.

No I/O and no clock reads happen here. Time arrives in ``Tick(now)`` events
(monotonic seconds); everything else a person or a worker does arrives as an
event; everything that needs the world (parse a code, take a photo, write a
record) leaves as an *effect* for the controller (``kiosk.station``), whose
results come back as events. The screens render the state they are given.

Idle timeouts work without reading a clock: an event caused by a person
leaves the new state with ``since=None``; the next ``Tick`` stamps it, and a
later ``Tick`` that finds the screen idle too long returns to ``Welcome``.
The ``Welcome`` state carries no student data, so a timeout forgets it.

States live in ``kiosk.flow.states``, events in ``kiosk.flow.events``, effects
in ``kiosk.flow.effects``, all re-exported here: this is the module the screens
import. Operator-mode transitions live in ``kiosk.flow.operator_mode``, the status
screen's in ``kiosk.flow.status_lookup``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from kiosk.config import FlowSection
from kiosk.flow.effects import *  # noqa: F403 - this module is the public face of the flow
from kiosk.flow.effects import (
    CallStaff,
    CheckLastFour,
    CountRetake,
    Effect,
    LookupReceipt,
    LookupStatus,
    ParseCode,
    SaveRecord,
    StartCamera,
    StopCamera,
    TakePhoto,
    WipeSession,
)
from kiosk.flow.events import *  # noqa: F403
from kiosk.flow.events import (
    AcceptTapped,
    AgreeTapped,
    AlreadyCaptured,
    AutoShot,
    BackspacePressed,
    BackTapped,
    CameraBack,
    CameraLost,
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
    QueuePositionKnown,
    RetakeTapped,
    RetryTapped,
    Saved,
    SaveFailed,
    ShutterTapped,
    StartTapped,
    StatusTapped,
    SubmitTapped,
    ThatsMeTapped,
    Tick,
)
from kiosk.flow.staff_events import *  # noqa: F403
from kiosk.flow.states import *  # noqa: F403
from kiosk.flow.states import (
    Attract,
    Batch,
    BatchSetup,
    BindTicket,
    Capture,
    CodelessForm,
    Confirm,
    Consent,
    Context,
    Done,
    FeeNotice,
    PinEntry,
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


def initial_state(settings: FlowSection, batch: Batch | None = None, *, demo_pin: bool = False) -> Welcome:
    """The Welcome screen a station starts on."""
    return Welcome(ctx=Context(settings=settings, batch=batch, demo_pin=demo_pin))


def welcome(ctx: Context) -> Welcome:
    """A fresh Welcome for ``ctx``: no student data survives in it."""
    return Welcome(ctx=ctx)


def frame_use(state: State) -> str | None:
    """What camera frames are for in ``state``: "scan" (codes), "portrait" (guidance) or None."""
    if not state.ctx.camera_ok:
        return None
    if isinstance(state, StillThere):
        # a person stepping back into view answers "still there?" as well as the button does
        return frame_use(state.resume)
    # busy does not matter here: restarting the scanner on every parse would undo its debounce
    if isinstance(state, Welcome | Attract | ScanCode | StatusShown):
        return "scan"
    if isinstance(state, Capture):
        return "portrait"
    from kiosk.flow.operator_mode import operator_frame_use

    return operator_frame_use(state)


def message_params(state: State) -> dict[str, Any]:
    """Placeholders for ``state.error``'s string: the error's own, ``n`` (tries left), ``minutes`` (lock)."""
    params: dict[str, Any] = dict(state.error_params)
    tries = getattr(state, "tries_left", None)
    if tries is not None:
        params["n"] = tries
    minutes = getattr(state, "locked_minutes", None)
    if minutes is not None:
        params["minutes"] = minutes
    return params


def timeout_of(state: State) -> float:
    """Idle seconds before ``state`` times out (Welcome: before the attract screen)."""
    s = state.ctx.settings
    if isinstance(state, Done):
        # a codeless student's claim ticket is their only way to the record: it waits for staff
        return s.done_timeout_s if state.may_finish else float("inf")
    if isinstance(state, Welcome):
        # a message or a stuck read clears after the usual wait; a clean Welcome turns to the attract screen
        return s.idle_timeout_s if state.error or state.busy else s.attract_after_s
    if isinstance(state, StillThere):
        return s.still_there_s
    if isinstance(state, Capture) and not state.ctx.camera_ok:
        return s.camera_hold_s  # as long as the camera banner promises the student's details are kept
    return s.idle_timeout_s


#: states whose timeout would discard something the person did: a "still there?" countdown comes first
_HOLDS_WORK = (Verify, Confirm, Consent, FeeNotice, Capture, Review, Saving, CodelessForm, BindTicket, BatchSetup)


def holds_work(state: State) -> bool:
    """Whether a timeout on ``state`` would lose the person's work (typed entries, a photo, a session)."""
    if isinstance(state, BindTicket):
        return state.stage != "done"
    if isinstance(state, BatchSetup):
        return bool(state.typed) and state.loaded is None
    return isinstance(state, _HOLDS_WORK)


def camera_hold_minutes(ctx: Context) -> int:
    """Whole minutes the camera banner promises to keep the session."""
    return max(1, int(ctx.settings.camera_hold_s // 60))


def step(state: State, event: Event) -> Result:
    """The next state and the effects to carry out after ``event`` in ``state``.

    Events that make no sense in a state (a late worker result, a double tap)
    leave it unchanged with no effects; nothing here raises on bad input.
    """
    if isinstance(event, Tick):
        return _tick(state, event.now)
    if isinstance(event, CameraLost | CameraBack):
        new, effects = _camera(state, isinstance(event, CameraBack))
    else:
        from kiosk.flow.staff import staff_step

        # staff work cuts across screens (calls for help, Done's ticket and notice, staff decisions)
        outcome = staff_step(state, event)
        if outcome is None:
            outcome = _apply(state, event)
        if outcome is None:
            return state, ()
        new, effects = outcome
        if event.is_activity() and new.since is not None:
            new = dataclasses.replace(new, since=None)
        if isinstance(new, Capture) and not isinstance(state, Capture) and not new.ctx.camera_ok:
            # the camera went while the student was on another screen: say so and call staff, as mid-capture
            new = camera_lost_error(new, new.ctx)
            effects += (CallStaff(reason="camera_lost"),)
    from kiosk.flow.staff import raise_alert

    return raise_alert(new, effects), effects + _camera_effects(state, new)


def _apply(state: State, event: Event) -> Outcome:
    """The state's own transition for ``event``, without the idle and camera bookkeeping of ``step``."""
    handler = _HANDLERS.get(type(state))
    if handler is None:
        from kiosk.flow.operator_mode import operator_step

        return operator_step(state, event)
    return handler(state, event)


def _camera_effects(old: State, new: State) -> tuple[Effect, ...]:
    before, after = frame_use(old), frame_use(new)
    if before == after:
        return ()
    return (StopCamera(),) if after is None else (StartCamera(purpose=after),)


def _tick(state: State, now: float) -> Result:
    if state.since is None:
        if isinstance(state, StillThere):
            return dataclasses.replace(state, since=now, left=math.ceil(timeout_of(state))), ()
        return dataclasses.replace(state, since=now), ()
    idle = now - state.since
    if idle < timeout_of(state):
        if isinstance(state, StillThere):
            left = max(1, math.ceil(timeout_of(state) - idle))
            return (state, ()) if left == state.left else (dataclasses.replace(state, left=left), ())
        return state, ()
    if isinstance(state, Saving) and state.busy:
        # the record is being made durable; leaving now could hide a failure
        return state, ()
    if isinstance(state, Welcome) and not state.busy and state.error is None:
        return Attract(ctx=state.ctx), ()
    if isinstance(state, Attract):
        return state, ()
    if holds_work(state) and not state.busy:
        asking = StillThere(ctx=state.ctx, resume=state, left=math.ceil(state.ctx.settings.still_there_s),
                            since=now)
        return asking, _camera_effects(state, asking)
    fresh = welcome(state.ctx)
    return fresh, (WipeSession(), *_camera_effects(state, fresh))


def camera_lost_error(state: State, ctx: Context) -> State:
    """``state`` saying the camera is gone and for how long the session is kept; a fresh hold window."""
    return dataclasses.replace(state, ctx=ctx, error="flow.error.camera_lost", since=None,
                               error_params=(("minutes", str(camera_hold_minutes(ctx))),))


def _camera(state: State, back: bool) -> Result:
    ctx = dataclasses.replace(state.ctx, camera_ok=back)
    if isinstance(state, StillThere):
        inner, effects = _camera(dataclasses.replace(state.resume, ctx=state.ctx), back)
        if not back and isinstance(inner, Capture):
            # the camera went while asking: its banner's promise (kept for minutes) replaces the countdown
            return inner, effects
        return dataclasses.replace(state, ctx=ctx, resume=inner), effects
    if isinstance(state, Capture):
        if back:
            error = None if state.error == "flow.error.camera_lost" else state.error
            params = () if error is None else state.error_params
            # a fresh idle window once the camera is back: the student waited for us
            return dataclasses.replace(state, ctx=ctx, error=error, error_params=params, since=None,
                                       phase="waiting", count=0, progress=0.0), ()
        lost = camera_lost_error(dataclasses.replace(state, phase="waiting", count=0, progress=0.0), ctx)
        return lost, (CallStaff(reason="camera_lost"),)
    return dataclasses.replace(state, ctx=ctx), ()


# ---------------------------------------------------------------------------
# Student screens


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
        return _apply(resume, e) or (resume, ())
    if not e.is_activity():
        # a worker's late answer belongs to the screen underneath
        outcome = _apply(dataclasses.replace(s.resume, ctx=s.ctx), e)
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
                (SaveRecord(student=s.student, photo=s.photo, batch=s.ctx.batch),))
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
        save = SaveRecord(student=s.student, photo=s.photo, batch=s.ctx.batch)
        return dataclasses.replace(s, busy=True, error=None), (save,)
    if isinstance(e, NoCodeTapped):  # "call staff" from the save-failed message
        return dataclasses.replace(s, staff_called=True), (CallStaff(reason="save_failed"),)
    return None


def _on_done(s: Done, e: Event) -> Outcome:
    if isinstance(e, QueuePositionKnown) and e.record_id == s.receipt.record_id:
        receipt = dataclasses.replace(s.receipt, queue_position=e.position)
        # a worker result is not the student touching the screen: keep the idle clock
        return dataclasses.replace(s, receipt=receipt), ()
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
