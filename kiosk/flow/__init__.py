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
import. The student screens' transitions live in ``kiosk.flow.student_screens``,
operator mode's in ``kiosk.flow.operator_mode``, the status screen's in
``kiosk.flow.status_lookup``, staff work that cuts across screens in
``kiosk.flow.staff``; idle time in ``kiosk.flow.timeouts``, the camera's comings
and goings in ``kiosk.flow.camera``, the headwear leave in ``kiosk.flow.headwear``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from kiosk.config import FlowSection
from kiosk.flow.camera import camera_effects, on_camera
from kiosk.flow.camera import camera_hold_minutes as camera_hold_minutes
from kiosk.flow.camera import camera_lost_error as camera_lost_error
from kiosk.flow.camera import frame_use as frame_use
from kiosk.flow.effects import *  # noqa: F403 - this module is the public face of the flow
from kiosk.flow.effects import CallStaff
from kiosk.flow.events import *  # noqa: F403
from kiosk.flow.events import CameraBack, CameraLost, Event, Tick
from kiosk.flow.headwear import end_leave_with_session
from kiosk.flow.staff_events import *  # noqa: F403
from kiosk.flow.states import *  # noqa: F403
from kiosk.flow.states import Batch, Capture, Context, State, Welcome
from kiosk.flow.student_screens import LAST_FOUR_KEYS as LAST_FOUR_KEYS
from kiosk.flow.student_screens import LAST_FOUR_MAX as LAST_FOUR_MAX
from kiosk.flow.student_screens import PIN_MAX as PIN_MAX
from kiosk.flow.student_screens import Outcome as Outcome
from kiosk.flow.student_screens import Result as Result
from kiosk.flow.student_screens import after_consent as after_consent
from kiosk.flow.student_screens import after_identified as after_identified
from kiosk.flow.student_screens import screen_step
from kiosk.flow.student_screens import typed_last_four as typed_last_four
from kiosk.flow.student_screens import welcome as welcome
from kiosk.flow.timeouts import holds_work as holds_work
from kiosk.flow.timeouts import on_tick
from kiosk.flow.timeouts import timeout_of as timeout_of


def initial_state(settings: FlowSection, batch: Batch | None = None, *, demo_pin: bool = False) -> Welcome:
    """The Welcome screen a station starts on."""
    return Welcome(ctx=Context(settings=settings, batch=batch, demo_pin=demo_pin))


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


def step(state: State, event: Event) -> Result:
    """The next state and the effects to carry out after ``event`` in ``state``.

    Events that make no sense in a state (a late worker result, a double tap)
    leave it unchanged with no effects; nothing here raises on bad input.
    """
    if isinstance(event, Tick):
        new, effects = on_tick(state, event.now)
        return end_leave_with_session(state, new, effects), effects
    if isinstance(event, CameraLost | CameraBack):
        new, effects = on_camera(state, isinstance(event, CameraBack))
    else:
        from kiosk.flow.staff import staff_step

        # staff work cuts across screens (calls for help, Done's ticket and notice, staff decisions)
        outcome = staff_step(state, event)
        if outcome is None:
            outcome = screen_step(state, event)
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

    new = end_leave_with_session(state, raise_alert(new, effects), effects)
    return new, effects + camera_effects(state, new)
