"""Idle time: how long each screen waits, "still there?" before work is lost, the attract screen.

Without a clock: ``Tick(now)`` stamps a state the person just changed
(``since=None``) and later finds it idle for too long (see docs/flow.md, Timeouts).
"""

from __future__ import annotations

import dataclasses
import math

from kiosk.flow.camera import camera_effects
from kiosk.flow.effects import (
    Effect,
    WipeSession,
)
from kiosk.flow.states import (
    Attract,
    BatchSetup,
    BindTicket,
    Capture,
    CodelessForm,
    Confirm,
    Consent,
    Done,
    FeeNotice,
    Review,
    Saving,
    State,
    StillThere,
    Verify,
    Welcome,
)
from kiosk.flow.student_screens import refresh_receipt, welcome

Result = tuple[State, tuple[Effect, ...]]


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



def on_tick(state: State, now: float) -> Result:
    if state.since is None:
        if isinstance(state, StillThere):
            return dataclasses.replace(state, since=now, left=math.ceil(timeout_of(state))), ()
        return dataclasses.replace(state, since=now), ()
    idle = now - state.since
    if idle < timeout_of(state):
        if isinstance(state, Done):
            return refresh_receipt(state, now)
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
        return asking, camera_effects(state, asking)
    fresh = welcome(state.ctx)
    return fresh, (WipeSession(), *camera_effects(state, fresh))
