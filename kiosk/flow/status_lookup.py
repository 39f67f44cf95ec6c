"""The status screen's transitions: a student's code read for its review status.

Called by ``kiosk.flow.step``; pure like the rest of the flow. The code is
read for its status only (any school, locked or not), so starting a capture
from here reads it again against today's batch and its lock, as Scan does.
"""

from __future__ import annotations

import dataclasses

from kiosk.flow.effects import Effect, LookupStatus, ParseCode, WipeSession
from kiosk.flow.events import (
    BackTapped,
    CodeAccepted,
    CodeRejected,
    CodeScanned,
    Event,
    FinishTapped,
    StartTapped,
    StatusFound,
    StatusNotFound,
    StatusUnavailable,
)
from kiosk.flow.states import ScanCode, State, StatusShown, Welcome


def on_status(s: StatusShown, e: Event) -> tuple[State, tuple[Effect, ...]] | None:
    """The outcome of ``e`` on the status screen; None when it does not apply."""
    if isinstance(e, CodeScanned) and not s.busy:
        return (dataclasses.replace(s, busy=True, error=None, view=None, code=None),
                (ParseCode(payload=e.payload, purpose="status"),))
    if isinstance(e, CodeAccepted) and s.busy and s.code is None:
        return dataclasses.replace(s, code=e.code), (LookupStatus(code=e.code),)
    if isinstance(e, CodeRejected) and s.busy:
        return dataclasses.replace(s, busy=False, error=e.error_key, error_params=e.params), ()
    if isinstance(e, StatusFound) and s.busy:
        return dataclasses.replace(s, busy=False, view=e.view), ()
    if isinstance(e, StatusNotFound) and s.busy:
        return dataclasses.replace(s, busy=False, view=None, error="flow.status.none"), ()
    if isinstance(e, StatusUnavailable) and s.busy:
        # unknown is not "none": no "start" that could make this student a second record; scanning again retries
        return dataclasses.replace(s, busy=False, view=None, code=None, error=e.error_key), ()
    if isinstance(e, StartTapped) and s.code is not None and not s.busy and s.may_start():
        if s.ctx.batch is None:
            return dataclasses.replace(s, error="flow.error.no_batch"), ()
        if not s.ctx.batch.allows("code"):
            return dataclasses.replace(s, error="flow.error.code_not_allowed"), ()
        # the code was read for its status only (any school, locked or not): check it for today as Scan does
        return ScanCode(ctx=s.ctx, busy=True), (ParseCode(payload=s.code.payload, batch=s.ctx.batch),)
    if isinstance(e, BackTapped | FinishTapped):
        return Welcome(ctx=s.ctx), (WipeSession(),)
    return None
