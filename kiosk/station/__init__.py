"""The session controller: carries out the flow's effects and answers with events.

Qt-free and driven from two sides. The touch screens run ``execute(effect)``
for slow effects on a worker thread and post the returned events back to the
GUI thread, where ``flow.step`` makes the next state; the headless demo and
the tests call ``dispatch(state, event)``, which does the same loop inline.
Frames reach ``on_frame`` from the UI's worker: codes are scanned or the
portrait is guided, depending on ``flow.frame_use(state)``.

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk import flow
from kiosk.codes.collection_code import CodeLocked, CollectionCode, last_four_matches
from kiosk.errors import KioskError
from kiosk.flow import Effect, Event, State
from kiosk.flow.states import HealthItem
from kiosk.station import staff
from kiosk.station.frames import FrameState
from kiosk.station.health import gather_health, stats_items
from kiosk.station.parts import BatchSource, StationParts
from kiosk.station.records import (
    Links,
    bind_code,
    check_codeless,
    find_ticket,
    lookup_status,
    save_record,
)

log = logging.getLogger(__name__)

__all__ = ["ROUTES", "BatchSource", "EffectRoute", "Station", "StationParts"]


class Station:
    """Executes effects with the station's parts; safe to call from worker threads."""

    def __init__(self, parts: StationParts) -> None:
        self.parts = parts
        self._lock = threading.RLock()  # store, attempt lock, PIN lock
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
            with self._lock:
                open_calls = self.parts.store.open_help()
            alert = open_calls[0].reason if open_calls else None
        except KioskError as exc:
            log.error("help.unreadable key=%s", exc.key)
        # a call for staff outlives a restart: the banner stays until staff acknowledge it;
        # and so do the students' retake counts of today's batch
        ctx = dataclasses.replace(state.ctx, staff_alert=alert, public_url=self.parts.public_url,
                                  retakes_used=self._retakes(batch.feature_code) if batch is not None else ())
        return dataclasses.replace(state, ctx=ctx)

    def _retakes(self, batch_code: str) -> tuple[tuple[str, int], ...]:
        """The retake counts kept for ``batch_code``; none when the store cannot say (logged)."""
        try:
            with self._lock:
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

    def _now(self) -> datetime:
        return self.parts.clock()

    def _batch_code(self) -> str:
        """Today's feature code, to ask the server in; empty when none is set."""
        try:
            batch = self.parts.batches.current() if self.parts.batches is not None else None
        except KioskError:
            return ""
        return batch.feature_code if batch is not None else ""

    def _parse_code(self, e: flow.ParseCode) -> list[Event]:
        if self.parts.codebook is None:
            return [flow.CodeRejected("flow.error.no_codes")]
        from kiosk.tickets import is_ticket

        if is_ticket(e.payload) and e.purpose != "bind":
            return [flow.CodeRejected("flow.error.ticket_not_code")]
        now = self._now()
        batch = e.batch if e.purpose != "status" else None
        try:
            code = self.parts.codebook.parse(e.payload, batch, now)
            if e.purpose != "status" and self.parts.attempts is not None:
                with self._lock:
                    self.parts.attempts.check(code.student_uid, now)
        except KioskError as exc:
            params = tuple(sorted((k, str(v)) for k, v in exc.params.items()))
            return [flow.CodeRejected(exc.key, params)]
        if e.purpose == "capture" and self.parts.store is not None:
            # one student, one photo in review: a second visit shows the first record's status
            with self._lock:
                view = lookup_status(self.parts.store, code.student_uid, None)
            if view is not None and view.status != "rejected":
                log.info("code.already_captured status=%s", view.status)
                return [flow.AlreadyCaptured(code, view)]
            if view is None and self.parts.lookup_remote is not None:
                # one student, one photo in review, across stations: the server knows the others' records
                asked, remote = staff.ask_server(self.parts.lookup_remote, e.batch.feature_code if e.batch else "",
                                                 code)
                if not asked:
                    log.info("code.unconfirmed")
                    return [flow.CodeUnconfirmed(code)]
                if remote is not None and remote.status in staff.IN_REVIEW:
                    log.info("code.captured_elsewhere status=%s", remote.status)
                    return [flow.AlreadyCaptured(code, remote)]
        return [flow.CodeAccepted(code)]

    def _verify(self, code: CollectionCode, typed: str) -> int | None:
        """None when ``typed`` is the code's last four, else the tries left (0: locked).

        The lock is checked first, so a locked code stays locked whatever is typed.
        """
        now = self._now()
        attempts = self.parts.attempts
        with self._lock:
            if attempts is not None:
                try:
                    attempts.check(code.student_uid, now)
                except CodeLocked:
                    return 0
            if last_four_matches(code, typed):
                if attempts is not None:
                    attempts.clear(code.student_uid)
                return None
            return attempts.miss(code.student_uid, now) if attempts is not None else 1

    def _check_last_four(self, e: flow.CheckLastFour) -> list[Event]:
        code: CollectionCode = e.code
        left = self._verify(code, e.typed)
        if left is None:
            log.info("verify.ok")
            return [flow.LastFourOk(code.id_tail)]
        log.info("verify.miss tries_left=%d", left)
        return [flow.CodeLockedOut()] if left <= 0 else [flow.LastFourWrong(left)]

    def _lookup_status(self, e: flow.LookupStatus) -> list[Event]:
        with self._lock:
            view = lookup_status(self.parts.store, e.code.student_uid, self.parts.refresh_status)
        if view is not None:
            return [flow.StatusFound(view)]
        if self.parts.lookup_remote is None:
            return [flow.StatusNotFound()]
        # not taken here: perhaps at another station, which only the server knows
        asked, remote = staff.ask_server(self.parts.lookup_remote, e.batch or self._batch_code(), e.code)
        if not asked:
            return [flow.StatusUnavailable("flow.status.server_unasked")]
        return [flow.StatusNotFound()] if remote is None else [flow.StatusFound(remote)]

    def _lookup_receipt(self, e: flow.LookupReceipt) -> list[Event]:
        with self._lock:
            record = self.parts.store.get(e.record_id)
        if record is None or record.queue_position is None:
            return []
        return [flow.QueuePositionKnown(e.record_id, record.queue_position)]

    def _take_photo(self, e: flow.TakePhoto) -> list[Event]:
        capture, analysis = e.capture, e.analysis
        if capture is None:
            capture, analysis, hint = self.frames.shoot_now()
            if capture is None:
                return [flow.PhotoFailed(hint or "flow.error.photo_failed")]
        if self.parts.make_photo is None:
            return [flow.PhotoFailed("flow.error.photo_failed")]
        try:
            if analysis is None and self.parts.analyzer is not None:
                analysis = self.frames.analyse(capture)
            photo = self.parts.make_photo(capture, analysis, self.parts.portrait)
        except KioskError as exc:
            log.info("photo.refused key=%s", exc.key)
            return [flow.PhotoFailed(exc.key)]
        log.info("photo.made bytes=%d", len(photo.jpeg))
        return [flow.PhotoReady(photo)]

    def _save_record(self, e: flow.SaveRecord) -> list[Event]:
        if e.batch is None:
            return [flow.SaveFailed("flow.error.no_batch")]
        with self._lock:
            result = save_record(self.parts.store, self.parts.station_id, e.batch, e.student, e.photo,
                                 keep_original=self.parts.portrait.keep_original, links=self.links)
        if isinstance(result, flow.Saved) and self.parts.receipt_printer:
            result = flow.Saved(self._print(result.receipt))
        return [result]

    def _print(self, slip_of: flow.Receipt) -> flow.Receipt:
        """Print the slip; the receipt with a note when the printer did not take it (never a failed save)."""
        from kiosk.station.slip import PrintFailed, Slip, print_slip

        slip = Slip(short_id=slip_of.short_id, status_link=slip_of.status_link, check_until=slip_of.check_until,
                    ticket_display=slip_of.ticket_display, ticket_link=slip_of.ticket_link,
                    help_phone=self.parts.help_phone, help_hours=self.parts.help_hours)
        try:
            print_slip(self.parts.receipt_printer, slip)
        except PrintFailed as exc:
            log.error("slip.failed reason=%s", exc)
            return dataclasses.replace(slip_of, print_note="staff.slip.failed")
        return slip_of

    def _check_pin(self, e: flow.CheckPin) -> list[Event]:
        if self.parts.pin_lock is None:
            return [flow.PinRejected(0)]
        result = self.parts.pin_lock.attempt(e.pin)
        if result.ok:
            return [flow.PinAccepted()]
        if result.locked_minutes:
            return [flow.PinLockedOut(result.locked_minutes)]
        return [flow.PinRejected(result.tries_left)]

    def _check_codeless(self, e: flow.CheckCodeless) -> list[Event]:
        return [check_codeless(e.phone, e.id_last4, e.name)]

    def _find_ticket(self, e: flow.FindTicket) -> list[Event]:
        with self._lock:
            return [find_ticket(self.parts.store, e.text)]

    def _bind_code(self, e: flow.BindCode) -> list[Event]:
        code: CollectionCode = e.code
        left = self._verify(code, e.typed)
        if left is not None:
            log.info("bind.miss tries_left=%d", left)
            if left <= 0:
                return [flow.BindFailed("flow.error.code_locked", 0)]
            return [flow.BindFailed("flow.error.last_four_wrong", left)]
        with self._lock:
            record = self.parts.store.find_by_ticket(e.ticket)
            if record is None:
                return [flow.BindFailed("flow.error.ticket_unknown")]
            mismatch = staff.capture_last_four_differs(record, code)
            if not e.confirmed:
                # the operator compares the record's photo and name with the code's before binding
                return [flow.BindChecked(mismatch, staff.record_card(record))]
            if mismatch and not e.override:
                log.info("bind.refused reason=last4_mismatch")
                return [flow.BindFailed("flow.error.bind_mismatch")]
            result = bind_code(self.parts.store, e.ticket, code, self.links)
            if mismatch and isinstance(result, flow.Bound):
                self.parts.store.audit("bind_override", "last4_mismatch", record_id=record.id)
            return [result]

    def _fetch_batch(self, e: flow.FetchBatch) -> list[Event]:
        if self.parts.batches is None:
            return [flow.BatchFailed("flow.error.batch_unknown")]
        try:
            batch, offline = self.parts.batches.load(e.feature_code)
        except KioskError as exc:
            log.info("batch.not_set key=%s", exc.key)
            return [flow.BatchFailed(exc.key, tuple(sorted((k, str(v)) for k, v in exc.params.items())))]
        log.info("batch.set code=%s offline=%d", batch.feature_code, int(offline))
        return [flow.BatchLoaded(batch, offline, self._retakes(batch.feature_code))]

    def _gather_health(self, e: flow.GatherHealth) -> list[Event]:
        own = {
            "camera": HealthItem("camera", e.camera_ok, "", None if e.camera_ok else "flow.health.camera_lost"),
            "scanner": HealthItem("scanner", self.parts.scanner is not None, "",
                                  None if self.parts.scanner is not None else "flow.health.scanner_missing"),
        }
        with self._lock:
            items = gather_health(self.parts.store, {**own, **self.parts.health_probes}, self._now())
        return [flow.HealthReported(items)]

    def _load_stats(self, e: flow.LoadStats) -> list[Event]:
        with self._lock:
            stats = self.parts.store.stats(self._now().astimezone().date())
        return [flow.StatsLoaded(stats_items(stats))]

    # Camera effects run on the GUI thread: they only leave a note, applied by the
    # frame worker before its next frame, so they never wait for an analysis.

    def _start_camera(self, e: flow.StartCamera) -> list[Event]:
        self.frames.request_reset(e.purpose)
        return []

    def _stop_camera(self, e: flow.StopCamera) -> list[Event]:
        self.frames.request_reset("none")
        return []

    def _call_staff(self, e: flow.CallStaff) -> list[Event]:
        log.warning("staff.called reason=%s", e.reason)
        try:
            with self._lock:
                # stored first: the coordinator hears of it by sync even if the station restarts now
                self.parts.store.raise_help(staff.help_reason(e.reason))
        finally:
            if self.parts.call_staff is not None:
                self.parts.call_staff(e.reason)
        return []

    def _acknowledge_help(self, e: flow.AcknowledgeHelp) -> list[Event]:
        with self._lock:
            count = self.parts.store.acknowledge_help()
        log.info("help.acknowledged count=%d", count)
        return [flow.HelpAcknowledged()]

    def _unlock_code(self, e: flow.UnlockCode) -> list[Event]:
        with self._lock:
            if self.parts.attempts is not None:
                self.parts.attempts.clear(e.code.student_uid)
            self.parts.store.audit("code_unlocked", "operator")
        log.warning("code.unlocked by=operator")
        return [flow.CodeUnlocked()]

    def _save_contact(self, e: flow.SaveContact) -> list[Event]:
        with self._lock:
            return [staff.save_contact(self.parts.store, e.record_id, e.phone)]

    def _find_records(self, e: flow.FindRecords) -> list[Event]:
        with self._lock:
            return [staff.find_records(self.parts.store, e.query, e.mode)]

    def _count_retake(self, e: flow.CountRetake) -> list[Event]:
        with self._lock:
            self.parts.store.keep_retakes(e.digest, e.batch, e.used)
        return []

    def _wipe_session(self, e: flow.WipeSession) -> list[Event]:
        self.frames.request_reset("none")
        log.info("session.wiped")
        return []

    def _quit(self, e: flow.Quit) -> list[Event]:
        log.warning("kiosk.leave requested=operator")
        return []

    # -- frames ---------------------------------------------------------------

    def on_frame(self, purpose: str | None, frame: Any, now: float) -> list[Event]:
        """Events from one camera frame: ``CodeScanned`` when scanning, ``Guidance``/``AutoShot`` when guiding."""
        return self.frames.on_frame(purpose, frame, now)


@dataclass(frozen=True)
class EffectRoute:
    """How the station carries out one kind of effect, and what it answers when that fails.

    ``failure`` makes the event that frees a busy screen after a crash or a
    ``KioskError``; it is None only for effects nothing waits on (the screen
    is not busy while they run).
    """

    handler: Callable[[Station, Any], list[Event]]
    failure: Callable[[str], Event] | None

    def failed(self, key: str) -> list[Event]:
        """The events to answer with after the handler failed with ``key``."""
        return [] if self.failure is None else [self.failure(key)]


#: every effect the flow can ask for: its handler and its failure event (see EffectRoute)
ROUTES: dict[type[Effect], EffectRoute] = {
    flow.ParseCode: EffectRoute(Station._parse_code, flow.CodeRejected),
    flow.CheckLastFour: EffectRoute(Station._check_last_four, flow.LastFourUnchecked),
    flow.LookupStatus: EffectRoute(Station._lookup_status,
                                   lambda key: flow.StatusUnavailable("flow.error.lookup_failed")),
    flow.LookupReceipt: EffectRoute(Station._lookup_receipt, None),  # Done shows "later" meanwhile
    flow.TakePhoto: EffectRoute(Station._take_photo, flow.PhotoFailed),
    flow.SaveRecord: EffectRoute(Station._save_record, lambda key: flow.SaveFailed("flow.error.not_saved")),
    flow.CheckPin: EffectRoute(Station._check_pin, lambda key: flow.PinRejected(0)),
    flow.CheckCodeless: EffectRoute(Station._check_codeless, flow.CodelessUnchecked),
    flow.FindTicket: EffectRoute(Station._find_ticket, flow.TicketRejected),
    flow.BindCode: EffectRoute(Station._bind_code, flow.BindFailed),
    flow.FetchBatch: EffectRoute(Station._fetch_batch, lambda key: flow.BatchFailed("flow.error.batch_unknown")),
    flow.GatherHealth: EffectRoute(Station._gather_health, lambda key: flow.HealthReported(())),
    flow.LoadStats: EffectRoute(Station._load_stats, lambda key: flow.StatsLoaded(())),
    flow.StartCamera: EffectRoute(Station._start_camera, None),
    flow.StopCamera: EffectRoute(Station._stop_camera, None),
    flow.CallStaff: EffectRoute(Station._call_staff, None),
    flow.CountRetake: EffectRoute(Station._count_retake, None),  # the retake is spent whether or not it is kept
    flow.WipeSession: EffectRoute(Station._wipe_session, None),
    flow.Quit: EffectRoute(Station._quit, None),
    flow.AcknowledgeHelp: EffectRoute(Station._acknowledge_help, flow.HelpUnacknowledged),
    flow.SaveContact: EffectRoute(Station._save_contact, lambda key: flow.ContactRefused("flow.error.contact_failed")),
    flow.FindRecords: EffectRoute(Station._find_records, flow.RecordsUnavailable),
    flow.UnlockCode: EffectRoute(Station._unlock_code, flow.LastFourUnchecked),
}
