"""The headwear leave: staff allow religious or medical headwear for the next capture only.

The photo standard wants the student bareheaded; a student who keeps a
religious or medical head covering is photographed with it only after staff
say so in operator mode. The leave lives in ``ctx.headwear_leave`` from the
grant until the session that uses it ends (Done, a cancel, a timeout): the
next student starts without it. The controller audits the grant and marks the
record (``headwear_allowed``); the portrait checks still measure the headwear
and pass it (``Analyzer.analyse(..., allow_headwear=True)``).
"""

from __future__ import annotations

import dataclasses

from kiosk.flow.effects import Effect, GrantHeadwear, WipeSession
from kiosk.flow.states import OperatorMenu, PinEntry, State

Result = tuple[State, tuple[Effect, ...]]


def on_headwear_item(s: OperatorMenu) -> Result:
    """The menu item: grant the leave, or withdraw one granted and not yet used."""
    granted = not s.ctx.headwear_leave
    ctx = dataclasses.replace(s.ctx, headwear_leave=granted)
    notice = "staff.headwear.granted" if granted else "staff.headwear.withdrawn"
    return dataclasses.replace(s, ctx=ctx, notice=notice, error=None, confirm_quit=False), (
        GrantHeadwear(granted=granted),)


def end_leave_with_session(old: State, new: State, effects: tuple[Effect, ...]) -> State:
    """``new`` without the leave when this step ended a session (its work wiped).

    Leaving the operator menu wipes too, but it is where the leave was just
    given: it holds until the session of the student it was given for ends.
    """
    if not new.ctx.headwear_leave or isinstance(old, OperatorMenu | PinEntry):
        return new
    if not any(isinstance(effect, WipeSession) for effect in effects):
        return new
    return dataclasses.replace(new, ctx=dataclasses.replace(new.ctx, headwear_leave=False))
