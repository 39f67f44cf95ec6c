"""The sync client: the outbox loop that uploads queued records to the collection server, oldest first.

One record per request, ``PUT /api/v1/records/{id}`` with the record id as
``Idempotency-Key``, so a replay after a crash (the server committed, we did
not) is answered with the same acknowledgement instead of a second record.
What each answer means is decided in ``kiosk.sync.outcome``; an
acknowledgement's ticket (the server's, after a clash) is adopted by the store.
Each cycle also pushes bindings and pulls review status (``kiosk.sync.review``),
keeps the batch cache fresh (``kiosk.sync.batchcache``), pushes help requests and
notice phones and tells the server it is alive (``kiosk.sync.staff_calls``), and
writes the heartbeat file the UI and the doctor read.

Clock, sleep, randomness and the HTTP session are injectable, for tests.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from kiosk.batch import Batch
from kiosk.config import SyncSection
from kiosk.errors import KioskError
from kiosk.store import Store
from kiosk.store.record import Record
from kiosk.sync import outcome as oc
from kiosk.sync import review, staff_calls
from kiosk.sync.batchcache import fetch_batch
from kiosk.sync.heartbeat import Heartbeat, write_heartbeat
from kiosk.sync.session import SyncError, TokenError, load_token, make_session, timeouts

log = logging.getLogger(__name__)

#: records leased per transaction (each still sent on its own): fewer fsyncs per record
LEASE_AHEAD = 4
#: alert keys (kiosk/text/sync.toml) shown on the operator screen
ALERT_AUTH = "sync.alert_auth"


@dataclass
class SyncReport:
    """What one cycle did."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    paused: bool = False
    bindings: int = 0
    statuses: int = 0
    help: int = 0  # help requests the server took
    contacts: int = 0  # notice phones the server took
    heartbeat: bool = False  # the server took the station's heartbeat


class SyncClient:
    """Uploads the store's queue to ``settings.server_url``; one per sync process or thread."""

    def __init__(self, settings: SyncSection, store: Store, station_id: str, *,
                 session: requests.Session | None = None, clock: Callable[[], datetime] | None = None,
                 sleep: Callable[[float], None] | None = None, rng: random.Random | None = None,
                 worker: str | None = None, batch_code: str = "") -> None:
        if not settings.server_url:
            raise SyncError("sync.no_server")
        self.settings = settings
        self.store = store
        self.station_id = station_id
        self.base_url = settings.server_url.rstrip("/")
        self._own_session = session is None
        self.session = session or make_session(settings, load_token(settings.token_file))
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.batch_code = batch_code
        self.paused_until: datetime | None = None
        # after a passing failure the whole queue waits for that record's retry time: the
        # network or server is likely down for all, and one slow timeout per record would pile up
        self.hold_until: datetime | None = None
        self.alert_key: str | None = None
        self.last_success: datetime | None = None
        self.last_error: str | None = None
        self._status_due: datetime | None = None  # None: pull at the next cycle
        self._beat_due: datetime | None = None  # None: tell the server at the next cycle

    # -- one cycle ----------------------------------------------------------

    def run_once(self, now: datetime | None = None) -> SyncReport:
        """Upload every record that is due, push bindings, pull statuses; write the heartbeat."""
        now = now or self._clock()
        report = SyncReport()
        if self.paused_until is not None and now >= self.paused_until:
            self._resume()
        held = self.hold_until is not None and now < self.hold_until
        if self.paused_until is None and not held:
            self.hold_until = None
            self._drain(report)
            if self.paused_until is None and self.hold_until is None:
                report.bindings = self.push_bindings()
                report.help = staff_calls.push_help(self)
                report.contacts = staff_calls.push_contacts(self)
        if self.paused_until is None and (self._status_due is None or self._clock() >= self._status_due):
            report.statuses = self.pull_status()
            self._status_due = self._clock() + timedelta(seconds=self.settings.status_every_s)
            if self.batch_code and self.paused_until is None:
                self._refresh_batch()
        held = self.hold_until is not None and self._clock() < self.hold_until
        if self.paused_until is None and not held and (self._beat_due is None or self._clock() >= self._beat_due):
            queued = self.store.stats(self._clock().astimezone().date())["queued"]
            report.heartbeat = staff_calls.send_heartbeat(self, queued, self._clock())
            self._beat_due = self._clock() + timedelta(seconds=self.settings.heartbeat_every_s)
        report.paused = self.paused_until is not None
        self.write_heartbeat()
        return report

    def _drain(self, report: SyncReport) -> None:
        # A passing failure ends the drain: the network or the server is likely
        # down for every record, and the next cycle comes soon enough.
        while self.paused_until is None:
            leased = self.store.lease_batch(self.worker, self.settings.lease_s, self._clock(), LEASE_AHEAD)
            if not leased:
                return
            for i, record in enumerate(leased):
                kind = self.upload(record)
                if kind == oc.SENT:
                    report.sent += 1
                elif kind == oc.DEAD:
                    report.dead += 1
                elif kind == oc.RETRY:
                    report.retried += 1
                if kind in (oc.RETRY, oc.PAUSE):
                    self.store.release_all([r.id for r in leased[i + 1:]], "not tried", worker=self.worker)
                    return

    def upload(self, record: Record) -> str:
        """Send one leased record and settle its state; the outcome's kind."""
        try:
            photo = record.photo_path.read_bytes()
            original = record.original_path.read_bytes() if record.original_path else None
        except FileNotFoundError as exc:
            # the photo vanished under us: nothing to send, ever; the operator sees why
            self.store.mark_dead(record.id, f"photo missing errno={exc.errno}", worker=self.worker)
            return oc.DEAD
        except OSError as exc:
            # EIO, EMFILE, EACCES ... may pass; a dead record is never sent again, so try later
            self._settle(record, oc.Outcome(oc.RETRY, f"photo unreadable errno={exc.errno}"))
            return oc.RETRY
        files: dict[str, Any] = {
            "metadata": (None, json.dumps(record.metadata(), ensure_ascii=False), "application/json"),
            "photo": (f"{record.id}.jpg", photo, "image/jpeg"),
        }
        if original is not None:
            files["original"] = (f"{record.id}.original.jpg", original, "image/jpeg")
        try:
            answer = self.session.put(f"{self.base_url}/api/v1/records/{record.id}", files=files,
                                      headers={"Idempotency-Key": record.id}, timeout=timeouts(self.settings),
                                      allow_redirects=False)
            result = oc.classify_upload(answer.status_code, answer.headers, answer.content, record_id=record.id,
                                        photo_sha256=record.photo_sha256, now=self._clock())
        except requests.RequestException as exc:
            result = oc.classify_error(exc)
        self._settle(record, result)
        return result.kind

    def _settle(self, record: Record, result: oc.Outcome) -> None:
        now = self._clock()
        if result.kind == oc.SENT:
            # a ticket the server gave instead of a clashed one is adopted with the acknowledgement
            self.store.mark_sent(record.id, result.ack or {})
            self._success(now)
        elif result.kind == oc.DEAD:
            self.store.mark_dead(record.id, result.reason, worker=self.worker)
            self._success(now)  # the server answered; the queue is healthy
        elif result.kind == oc.PAUSE:
            self.store.release(record.id, result.reason, worker=self.worker)
            self._pause(result.reason, now)
        else:
            at = oc.retry_at(result, record.attempts, base_s=self.settings.backoff_base_s,
                             cap_s=self.settings.backoff_cap_s, now=now, rng=self._rng)
            self.store.mark_retry(record.id, result.reason, at, worker=self.worker)
            self.hold_until = at
            self.last_error = result.reason

    def _success(self, now: datetime) -> None:
        self.last_success = now
        self.last_error = None

    def _pause(self, reason: str, now: datetime) -> None:
        self.paused_until = now + timedelta(seconds=self.settings.backoff_cap_s)
        self.alert_key = ALERT_AUTH
        self.last_error = reason
        log.error("sync.paused reason=%s until=%s", reason, self.paused_until.isoformat())

    def _resume(self) -> None:
        """Try again after a pause, with the token file re-read (the operator may have replaced it)."""
        if self._own_session:
            try:
                self.session.headers["Authorization"] = f"Bearer {load_token(self.settings.token_file)}"
            except TokenError as exc:
                log.error("sync.token_unusable key=%s", exc.key)
                self.paused_until = self._clock() + timedelta(seconds=self.settings.backoff_cap_s)
                return
        self.paused_until = None
        self.alert_key = None
        log.info("sync.resumed")

    # -- small JSON calls ---------------------------------------------------

    def call(self, method: str, path: str, body: dict[str, Any], *,
             quiet: bool = False) -> tuple[int, dict[str, Any] | None, oc.Outcome | None]:
        """Send JSON; ``(status, json, failure)``: failure unless a 2xx, status 0 for a non-problem refusal.

        A ``quiet`` call's failure is not the queue's ``last_error`` (an advisory call such as the heartbeat).
        """
        try:
            answer = self.session.request(method, f"{self.base_url}{path}", json=body,
                                          timeout=timeouts(self.settings), allow_redirects=False)
        except requests.RequestException as exc:
            failure = oc.classify_error(exc)
            if not quiet:
                self.last_error = failure.reason
            return 0, None, failure
        data = oc.json_body(answer.content)
        if 200 <= answer.status_code < 300 and data is not None:
            self._success(self._clock())
            return answer.status_code, data, None
        failure = oc.classify_status(answer.status_code, answer.headers, answer.content, self._clock())
        if failure.kind == oc.PAUSE:
            self._pause(failure.reason, self._clock())
        elif not quiet:
            self.last_error = failure.reason
        return (answer.status_code if oc.is_problem(answer.headers) else 0), data, failure

    def push_bindings(self) -> int:
        """Push codes bound at the station to records already on the server; how many it took (``review``)."""
        return review.push_bindings(self)

    def pull_status(self) -> int:
        """Pull review status and queue positions of this station's sent records; how many changed (``review``)."""
        return review.pull_status(self)

    def fetch_batch(self, feature_code: str) -> Batch:
        """The batch ``feature_code`` from the server, cached for offline use (see ``fetch_batch``)."""
        batch = fetch_batch(self.settings, self.store.data_dir, feature_code, self.session)
        self._success(self._clock())
        return batch

    def _refresh_batch(self) -> None:
        try:
            self.fetch_batch(self.batch_code)
        except KioskError as exc:
            log.warning("batch.refresh_failed key=%s", exc.key)

    # -- the daemon ---------------------------------------------------------

    def heartbeat(self) -> Heartbeat:
        """The daemon's state now."""
        stats = self.store.stats(self._clock().astimezone().date())
        return Heartbeat(at=self._clock(), pid=os.getpid(), server_url=self.base_url,
                         queue_length=stats["queued"], dead=stats["dead"], last_success=self.last_success,
                         last_error=self.last_error, paused=self.paused_until is not None,
                         alert_key=self.alert_key, next_due=self.store.next_due())

    def write_heartbeat(self) -> None:
        """Write the heartbeat file for the UI and the doctor."""
        write_heartbeat(self.store.data_dir, self.heartbeat())

    def wait_s(self) -> float:
        """How long the daemon may sleep before the next cycle."""
        now = self._clock()
        wait = self.settings.poll_s
        if self.paused_until is not None:
            return max(0.0, min(wait, (self.paused_until - now).total_seconds()))
        if self.hold_until is not None and self.hold_until > now:
            return max(0.0, min(wait, (self.hold_until - now).total_seconds()))
        due = self.store.next_due()
        if due is not None:
            wait = min(wait, max(0.0, (due - now).total_seconds()))
        return wait

    def run_forever(self, stop: threading.Event | None = None,
                    on_cycle: Callable[[SyncReport], None] | None = None) -> None:
        """Run cycles until ``stop`` is set; ``on_cycle`` is called after each (watchdog pings)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                report = self.run_once()
            except KioskError as exc:  # a busy or full database: log, wait, carry on
                log.error("sync.cycle_failed key=%s detail=%s", exc.key, exc.detail)
                self.last_error = exc.key
                report = SyncReport()
            if on_cycle is not None:
                on_cycle(report)
            try:
                wait = self.wait_s()
            except KioskError:  # logged by the store; the next cycle tries again
                wait = self.settings.poll_s
            if self._sleep is not None:
                self._sleep(wait)
            else:
                stop.wait(wait)

    def close(self) -> None:
        """Close the HTTP session if this client made it."""
        if self._own_session:
            self.session.close()
