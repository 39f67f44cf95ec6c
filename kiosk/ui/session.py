"""The session on screen: the flow on the GUI thread, its effects and frames on workers.

Every event (a tap, a tick, a worker's result) goes through ``flow.step``; the
new state is rendered by its screen and the effects are carried out by the
station controller: slow ones on the task worker, quick ones in place. Frames
reach the preview through the pump and reach the scanner or the face analysis
through their own workers, whichever ``flow.frame_use`` says the state needs.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from PyQt5.QtCore import QObject, QTimer, pyqtSignal

from kiosk import flow
from kiosk.config import StationConfig
from kiosk.errors import KioskError
from kiosk.ui.app import StationWindow
from kiosk.ui.bridge import FramePump, FrameSlot, FrameWorker, TaskRunner

log = logging.getLogger(__name__)

#: the screen that renders each state
SCREEN_OF: dict[type, str] = {
    flow.Welcome: "welcome", flow.StatusShown: "status", flow.ScanCode: "scan", flow.Verify: "verify",
    flow.Confirm: "confirm", flow.FeeNotice: "fee", flow.Capture: "capture", flow.Review: "review",
    flow.Saving: "review", flow.Done: "done", flow.PinEntry: "pin", flow.OperatorMenu: "menu",
    flow.CodelessForm: "codeless", flow.BindTicket: "bind", flow.StationStatus: "station",
    flow.BatchSetup: "batch", flow.Statistics: "stats", flow.TicketDesk: "desk", flow.Attract: "attract",
    flow.Consent: "consent", flow.StillThere: "still_there",
}


class Controller(Protocol):
    """What the session needs of ``kiosk.station.Station``."""

    def execute(self, effect: flow.Effect) -> Iterable[flow.Event]:
        """Carry out ``effect``; the events it leads to."""

    def on_frame(self, purpose: str, frame: Any, now: float) -> Iterable[flow.Event]:
        """Scan or guide on ``frame``; the events it leads to."""


class Session(QObject):
    """Drives one station window from the flow."""

    state_changed = pyqtSignal(object)

    def __init__(self, window: StationWindow, station: Controller, grabber: FrameSlot | None,
                 state: flow.State, *, clock: Callable[[], float] = time.monotonic, tick_ms: int = 500,
                 ping: Callable[[], Any] | None = None, chime: Any = None) -> None:
        super().__init__()
        from kiosk.ui.chime import Chime

        self.chime = chime if chime is not None else Chime()
        self.window = window
        self.station = station
        self.grabber = grabber
        self.state = state
        self.clock = clock
        self.purpose: str | None = None
        self.history: list[str] = []
        # a worker's answer belongs to the screen that asked: after the person left it (back, "not me",
        # a timeout) a late answer must not land on the next screen, nor on the next student
        self.epoch = 0
        # likewise a frame taken before the screen changed shows what the person held up to the last one:
        # a code shown for its status, read late from such a frame, would open that status again on Welcome
        self.screen_seq = 0
        self.home_lang = window.lang.lang  # the station's language, for each new student
        self.tasks = TaskRunner(self)
        self.pump = FramePump(grabber, parent=self)
        self.pump.frame.connect(self._show_frame)
        self.pump.camera_state.connect(self._camera_state)
        self.workers: dict[str, FrameWorker] = {}
        if grabber is not None:
            for purpose in ("scan", "portrait"):
                worker = FrameWorker(grabber, self._frame_work(purpose), purpose)
                worker.result.connect(self.frame_result)
                worker.failed.connect(self._worker_failed)
                self.workers[purpose] = worker
        for screen in window.screens.values():
            screen.intent.connect(self.dispatch)
        window.staff_requested.connect(lambda: self.dispatch(flow.OperatorRequested()))
        self.ticker = QTimer(self)
        self.ticker.setInterval(tick_ms)
        self.ticker.timeout.connect(lambda: self.dispatch(flow.Tick(now=self.clock())))
        self.pinger = QTimer(self)
        if ping is not None:
            self.pinger.setInterval(5000)
            self.pinger.timeout.connect(ping)

    # -- life cycle -------------------------------------------------------------

    def start(self) -> None:
        """Show the first state and start the clock, the pump and the workers."""
        for worker in self.workers.values():
            worker.start()
        self.pump.start()
        self.ticker.start()
        if self.pinger.interval() > 0:
            self.pinger.start()
        self._render()
        self._set_purpose(flow.frame_use(self.state))

    def stop(self) -> None:
        """Stop timers and worker threads (the window stays)."""
        self.ticker.stop()
        self.pinger.stop()
        self.pump.stop()
        for worker in self.workers.values():
            worker.stop()
        self.tasks.stop()

    # -- events --------------------------------------------------------------------

    def dispatch(self, event: flow.Event) -> None:
        """Step the flow with ``event``, render, and carry out the effects."""
        before = self.state
        self.state, effects = flow.step(self.state, event)
        if type(self.state) is not type(before):
            self.epoch += 1
            self._mark_screen_change()
            if isinstance(self.state, flow.Welcome) and (isinstance(event, flow.Tick) or isinstance(before, flow.Done)):
                # the student has gone (timed out or finished): the next one is greeted in the station's language
                self.window.lang.set(self.home_lang)
        if self.state is not before:
            self._render()
        for effect in effects:
            self._execute(effect)
        if self.state is not before:
            self._set_purpose(flow.frame_use(self.state))

    def _mark_screen_change(self) -> None:
        latest = self.grabber.latest() if self.grabber is not None else None
        if latest is not None:
            self.screen_seq = latest.seq

    def frame_result(self, frame: Any, events: list[flow.Event]) -> None:
        """A frame worker's events, unless the frame was taken before the screen changed (then logged, dropped)."""
        if events and getattr(frame, "seq", self.screen_seq + 1) <= self.screen_seq:
            log.info("frame.late kinds=%s", ",".join(sorted({type(e).__name__ for e in events})))
            return
        self.dispatch_all(events)

    def dispatch_all(self, events: Iterable[flow.Event]) -> None:
        """Dispatch each of ``events`` in order."""
        for event in events:
            self.dispatch(event)

    def _execute(self, effect: flow.Effect) -> None:
        if isinstance(effect, flow.WipeSession):
            self.epoch += 1
            self.wipe()
        elif isinstance(effect, flow.Quit):
            self.window.leave_kiosk_mode()
            return
        elif isinstance(effect, flow.CallStaff):
            log.info("staff.called reason=%s", effect.reason)
            self.chime.ring()
        if effect.slow:
            epoch = self.epoch
            self.tasks.submit(lambda: list(self.station.execute(effect)),
                              done=lambda events: self._answered(epoch, effect, events),
                              failed=lambda error: self._task_failed(epoch, error))
        else:
            self.dispatch_all(list(self.station.execute(effect)))

    def _answered(self, epoch: int, effect: flow.Effect, events: list[flow.Event]) -> None:
        if epoch != self.epoch:
            log.info("effect.late kind=%s", type(effect).__name__)
            return
        self.dispatch_all(events)

    def _task_failed(self, epoch: int, error: KioskError) -> None:
        # the controller answers with events; reaching here is a bug, but the person must not be stuck
        log.error("effect.failed key=%s", error.key)
        if epoch != self.epoch:
            return
        self.state = dataclasses.replace(self.state, busy=False, error=error.key)
        self._render()

    def _worker_failed(self, error: KioskError) -> None:
        log.warning("frame_worker.failed key=%s", error.key)

    # -- rendering --------------------------------------------------------------------

    def _render(self) -> None:
        state = self.state
        name = SCREEN_OF.get(type(state), "welcome")
        if self.window.batch != state.ctx.batch:
            self.window.set_batch(state.ctx.batch)
        self.window.set_alert(state.ctx.staff_alert)
        screen = self.window.show_screen(name)
        screen.show_state(state)
        # the header's staff button only where the flow takes it: elsewhere it would do nothing
        self.window.staff_button.setVisible(flow.step(state, flow.OperatorRequested())[0] is not state)
        if not self.history or self.history[-1] != name:
            self.history.append(name)
        self.state_changed.emit(state)

    def wipe(self) -> None:
        """Forget the student on every screen (frames, photos, typed text)."""
        for screen in self.window.screens.values():
            if screen is not self.window.current:
                screen.reset()

    # -- frames -----------------------------------------------------------------------------

    def _frame_work(self, purpose: str) -> Callable[[Any], list[flow.Event]]:
        def work(frame: Any) -> list[flow.Event]:
            return list(self.station.on_frame(purpose, frame.image, self.clock()))
        return work

    def _set_purpose(self, purpose: str | None) -> None:
        if purpose == self.purpose:
            return
        self.purpose = purpose
        for name, worker in self.workers.items():
            worker.set_active(name == purpose)

    def _show_frame(self, frame: Any) -> None:
        preview = getattr(self.window.current, "preview", None)
        if preview is not None and preview.isVisible():
            preview.set_frame(frame.image)

    def _camera_state(self, state: str) -> None:
        if state == "disconnected":
            self.dispatch(flow.CameraLost())
        elif state == "ok" and not self.state.ctx.camera_ok:
            self.dispatch(flow.CameraBack())


def build_ui(config: StationConfig, station: Controller, grabber: FrameSlot | None, *,
             batch: flow.Batch | None = None, kiosk_mode: bool = True, demo_pin: bool = False,
             state: flow.State | None = None, ping: Callable[[], Any] | None = None) -> Session:
    """The station's window with every screen, driven by a new session on Welcome."""
    from kiosk.ui.i18n import Lang
    from kiosk.ui.screens import all_screens

    lang = Lang(config.station.language)
    window = StationWindow(lang, config.help, kiosk_mode=kiosk_mode)
    for screen in all_screens(lang, mirror=config.portrait.mirror_preview):
        screen.tap_guard_s = config.flow.tap_guard_s
        window.add_screen(screen)
    if state is None:
        state = flow.initial_state(config.flow, batch, demo_pin=demo_pin)
    return Session(window, station, grabber, state, ping=ping)
