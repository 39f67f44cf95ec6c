"""Operator mode's and staff work's effects: PIN, codeless check, tickets, binding, batch, health, statistics,
calls for help, contact numbers, the ticket desk, unlocking a code, the headwear leave.

Handlers as in ``kiosk.station.student_effects``: the ``Station`` and one effect
in, the answering events out; every staff decision is written to the station log.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kiosk import flow
from kiosk.codes.collection_code import CollectionCode
from kiosk.errors import KioskError
from kiosk.flow import Event
from kiosk.flow.states import HealthItem
from kiosk.station import health, records, staff
from kiosk.station.student_effects import verify_last_four

if TYPE_CHECKING:
    from kiosk.station import Station

log = logging.getLogger("kiosk.station")


def check_pin(station: Station, e: flow.CheckPin) -> list[Event]:
    """Check the operator PIN against the PIN lock."""
    if station.parts.pin_lock is None:
        return [flow.PinRejected(0)]
    result = station.parts.pin_lock.attempt(e.pin)
    if result.ok:
        return [flow.PinAccepted()]
    if result.locked_minutes:
        return [flow.PinLockedOut(result.locked_minutes)]
    return [flow.PinRejected(result.tries_left)]


def check_codeless(station: Station, e: flow.CheckCodeless) -> list[Event]:
    """Validate the codeless form's phone and last four."""
    return [records.check_codeless(e.phone, e.id_last4, e.name)]


def find_ticket(station: Station, e: flow.FindTicket) -> list[Event]:
    """The codeless record holding the typed or scanned ticket."""
    with station.lock:
        return [records.find_ticket(station.parts.store, e.text)]


def bind_code(station: Station, e: flow.BindCode) -> list[Event]:
    """Bind a code to a codeless record: check, then bind (a last-four mismatch only with an override)."""
    code: CollectionCode = e.code
    left = verify_last_four(station, code, e.typed)
    if left is not None:
        log.info("bind.miss tries_left=%d", left)
        if left <= 0:
            return [flow.BindFailed("flow.error.code_locked", 0)]
        return [flow.BindFailed("flow.error.last_four_wrong", left)]
    with station.lock:
        record = station.parts.store.find_by_ticket(e.ticket)
        if record is None:
            return [flow.BindFailed("flow.error.ticket_unknown")]
        mismatch = staff.capture_last_four_differs(record, code)
        if not e.confirmed:
            # the operator compares the record's photo and name with the code's before binding
            return [flow.BindChecked(mismatch, staff.record_card(record))]
        if mismatch and not e.override:
            log.info("bind.refused reason=last4_mismatch")
            return [flow.BindFailed("flow.error.bind_mismatch")]
        result = records.bind_code(station.parts.store, e.ticket, code, station.links)
        if mismatch and isinstance(result, flow.Bound):
            station.parts.store.audit("bind_override", "last4_mismatch", record_id=record.id)
        return [result]


def fetch_batch(station: Station, e: flow.FetchBatch) -> list[Event]:
    """Set today's batch: fetched when online, else the cached copy."""
    if station.parts.batches is None:
        return [flow.BatchFailed("flow.error.batch_unknown")]
    try:
        batch, offline = station.parts.batches.load(e.feature_code)
    except KioskError as exc:
        log.info("batch.not_set key=%s", exc.key)
        return [flow.BatchFailed(exc.key, tuple(sorted((k, str(v)) for k, v in exc.params.items())))]
    log.info("batch.set code=%s offline=%d", batch.feature_code, int(offline))
    return [flow.BatchLoaded(batch, offline, station.retakes(batch.feature_code))]


def gather_health(station: Station, e: flow.GatherHealth) -> list[Event]:
    """The station-status lines: camera, scanner, disk, queue, sync, server, token."""
    own = {
        "camera": HealthItem("camera", e.camera_ok, "", None if e.camera_ok else "flow.health.camera_lost"),
        "scanner": HealthItem("scanner", station.parts.scanner is not None, "",
                              None if station.parts.scanner is not None else "flow.health.scanner_missing"),
    }
    with station.lock:
        items = health.gather_health(station.parts.store, {**own, **station.parts.health_probes}, station.now())
    return [flow.HealthReported(items)]


def load_stats(station: Station, e: flow.LoadStats) -> list[Event]:
    """Today's figures for the operator."""
    with station.lock:
        stats = station.parts.store.stats(station.now().astimezone().date())
    return [flow.StatsLoaded(health.stats_items(stats))]


def call_staff(station: Station, e: flow.CallStaff) -> list[Event]:
    """Store the call for staff (synced to the coordinator) and ring the station's chime."""
    log.warning("staff.called reason=%s", e.reason)
    try:
        with station.lock:
            # stored first: the coordinator hears of it by sync even if the station restarts now
            station.parts.store.raise_help(staff.help_reason(e.reason))
    finally:
        if station.parts.call_staff is not None:
            station.parts.call_staff(e.reason)
    return []


def acknowledge_help(station: Station, e: flow.AcknowledgeHelp) -> list[Event]:
    """Staff have come: close the open calls for help."""
    with station.lock:
        count = station.parts.store.acknowledge_help()
    log.info("help.acknowledged count=%d", count)
    return [flow.HelpAcknowledged()]


def unlock_code(station: Station, e: flow.UnlockCode) -> list[Event]:
    """Lift a code's last-four lock after staff checked the student's ID (audited)."""
    with station.lock:
        if station.parts.attempts is not None:
            station.parts.attempts.clear(e.code.student_uid)
        station.parts.store.audit("code_unlocked", "operator")
    log.warning("code.unlocked by=operator")
    return [flow.CodeUnlocked()]


def save_contact(station: Station, e: flow.SaveContact) -> list[Event]:
    """Keep the notice phone number the student gave with consent."""
    with station.lock:
        return [staff.save_contact(station.parts.store, e.record_id, e.phone)]

def find_records(station: Station, e: flow.FindRecords) -> list[Event]:
    """Codeless records by phone or ticket, or the ones waiting for a code."""
    with station.lock:
        return [staff.find_records(station.parts.store, e.query, e.mode)]


def grant_headwear(station: Station, e: flow.GrantHeadwear) -> list[Event]:
    """Write the operator's headwear leave (or its withdrawal) to the station log."""
    with station.lock:
        station.parts.store.audit("headwear_leave", "granted" if e.granted else "withdrawn")
    log.warning("headwear.leave granted=%d by=operator", int(e.granted))
    return []
