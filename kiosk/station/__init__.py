"""The session controller: carries out the flow's effects and answers with events.

Qt-free and driven from two sides. The touch screens run ``execute(effect)``
for slow effects on a worker thread and post the returned events back to the
GUI thread, where ``flow.step`` makes the next state; the headless demo and
the tests call ``dispatch(state, event)``, which does the same loop inline.
Frames reach ``on_frame`` from the UI's worker: codes are scanned or the
portrait is guided, depending on ``flow.frame_use(state)``.

The effects' handlers are in ``student_effects`` and ``staff_effects``, the
table from effect to handler and failure event in ``routes``.

Every collaborator is passed in (``StationParts``), so tests use real
modules or small fakes alike. Calls into the store, the attempt lock and the
PIN lock are serialised by one lock: the store is one SQLite connection.
Nothing personal is logged: events name record ids and reasons only.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
from datetime import datetime
from typing import Any

from kiosk import flow
from kiosk.errors import KioskError
from kiosk.flow import Effect, Event, State
from kiosk.station.frames import FrameState
from kiosk.station.parts import BatchSource, StationParts
from kiosk.station.records import Links
from kiosk.station.routes import ROUTES, EffectRoute

log = logging.getLogger(__name__)

__all__ = ["ROUTES", "BatchSource", "EffectRoute", "Station", "StationParts"]


class Station:
    """Executes effects with the station's parts; safe to call from worker threads."""

    def __init__(self, parts: StationParts) -> None:
        self.parts = parts
        #: held around store, attempt lock and PIN lock calls (the store is one SQLite connection)
        self.lock = threading.RLock()
        self.frames = FrameState(parts)

    # -- the flow's start and the synchronous loop ---------------------------

    def initial_state(self) -> flow.Welcome:
        """Welcome with today's batch (from the batch source) and the demo-PIN flag."""
        batch = None
        if self.parts.batches is not None:
            try:
                batch = self.parts.batches.current()
            except KioskError as exc:
                log.warning("batch.unavailable key=%s", exc.key)
        demo = self.parts.pin_lock.demo if self.parts.pin_lock is not None else True
        state = flow.initial_state(self.parts.flow, batch, demo_pin=demo)
        alert = None
        try:
            with self.lock:
                open_calls = self.parts.store.open_help()
            alert = open_calls[0].reason if open_calls else None
        except KioskError as exc:
            log.error("help.unreadable key=%s", exc.key)
        # a call for staff outlives a restart: the banner stays until staff acknowledge it;
        # and so do the students' retake counts of today's batch
        ctx = dataclasses.replace(state.ctx, staff_alert=alert, public_url=self.parts.public_url,
                                  retakes_used=self.retakes(batch.feature_code) if batch is not None else ())
        return dataclasses.replace(state, ctx=ctx)

    def retakes(self, batch_code: str) -> tuple[tuple[str, int], ...]:
        """The retake counts kept for ``batch_code``; none when the store cannot say (logged)."""
        try:
            with self.lock:
                return self.parts.store.retakes(batch_code)
        except KioskError as exc:
            # the worst outcome: a student gets the allowance again; never a station that will not start
            log.error("retakes.unreadable key=%s", exc.key)
            return ()

    @property
    def links(self) -> Links:
        """Where the status and bind pages are, for receipts."""
        return Links(self.parts.public_url, self.parts.status_url, self.parts.check_days)

    def dispatch(self, state: State, event: Event) -> tuple[State, list[Effect]]:
        """Step the flow with ``event`` and execute every effect inline until it settles.

        Returns the final state and the effects carried out (for the demo's
        log and the tests). The UI does the same asynchronously instead.
        """
        pending: deque[Event] = deque([event])
        done: list[Effect] = []
        while pending:
            state, effects = flow.step(state, pending.popleft())
            for effect in effects:
                done.append(effect)
                pending.extend(self.execute(effect))
        return state, done

    # -- effects --------------------------------------------------------------

    def execute(self, effect: Effect) -> list[Event]:
        """Carry out ``effect``; the events it yields (never raises for a person's bad input)."""
        route = ROUTES.get(type(effect))
        if route is None:
            log.error("effect.unknown kind=%s", type(effect).__name__)
            return []
        try:
            return list(route.handler(self, effect))
        except KioskError as exc:
            log.error("effect.failed kind=%s key=%s", type(effect).__name__, exc.key)
            return route.failed(exc.key)
        except Exception as exc:
            log.exception("effect.crashed kind=%s error=%s", type(effect).__name__, type(exc).__name__)
            return route.failed("error.unexpected")

    def now(self) -> datetime:
        """The station's wall clock (aware)."""
        return self.parts.clock()

    def batch_code(self) -> str:
        """Today's feature code, to ask the server in; empty when none is set."""
        try:
            batch = self.parts.batches.current() if self.parts.batches is not None else None
        except KioskError:
            return ""
        return batch.feature_code if batch is not None else ""

    # -- frames ---------------------------------------------------------------

    def on_frame(self, purpose: str | None, frame: Any, now: float) -> list[Event]:
        """Events from one camera frame: ``CodeScanned`` when scanning, ``Guidance``/``AutoShot`` when guiding."""
        return self.frames.on_frame(purpose, frame, now)

