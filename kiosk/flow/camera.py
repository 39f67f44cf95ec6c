"""What camera frames are for on each screen, and the flow when the camera goes or comes back.

While the camera is unplugged during Capture the session is kept for
``camera_hold_s`` (the banner says for how many minutes) and staff are called.
"""

from __future__ import annotations

import dataclasses

from kiosk.flow.effects import (
    CallStaff,
    Effect,
    StartCamera,
    StopCamera,
)
from kiosk.flow.states import (
    Attract,
    Capture,
    Context,
    ScanCode,
    State,
    StatusShown,
    StillThere,
    Welcome,
)

Result = tuple[State, tuple[Effect, ...]]


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



def camera_hold_minutes(ctx: Context) -> int:
    """Whole minutes the camera banner promises to keep the session."""
    return max(1, int(ctx.settings.camera_hold_s // 60))



def camera_effects(old: State, new: State) -> tuple[Effect, ...]:
    before, after = frame_use(old), frame_use(new)
    if before == after:
        return ()
    if after is None:
        return (StopCamera(),)
    return (StartCamera(purpose=after, allow_headwear=after == "portrait" and new.ctx.headwear_leave),)



def camera_lost_error(state: State, ctx: Context) -> State:
    """``state`` saying the camera is gone and for how long the session is kept; a fresh hold window."""
    return dataclasses.replace(state, ctx=ctx, error="flow.error.camera_lost", since=None,
                               error_params=(("minutes", str(camera_hold_minutes(ctx))),))


def on_camera(state: State, back: bool) -> Result:
    """The camera went (``back`` False) or came back: Capture says so, calls staff and keeps the session.

    Guidance starts afresh either way: a countdown interrupted by the loss is
    not shown again (its hint would read "0…").
    """
    ctx = dataclasses.replace(state.ctx, camera_ok=back)
    if isinstance(state, StillThere):
        inner, effects = on_camera(dataclasses.replace(state.resume, ctx=state.ctx), back)
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
                                       phase="waiting", count=0, progress=0.0, hint_key=None), ()
        lost = camera_lost_error(dataclasses.replace(state, phase="waiting", count=0, progress=0.0, hint_key=None),
                                ctx)
        return lost, (CallStaff(reason="camera_lost"),)
    return dataclasses.replace(state, ctx=ctx), ()

