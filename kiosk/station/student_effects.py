"""The student screens' effects: read a code, check the last four, look up a status, take the photo, save the record.

Each handler takes the ``Station`` and one effect and returns the events that
answer it; ``kiosk.station.routes.ROUTES`` maps effects to them. Store, attempt
lock and PIN lock calls hold ``station.lock`` (the store is one SQLite connection).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from kiosk import flow
from kiosk.codes.collection_code import CodeLocked, CollectionCode, last_four_matches
from kiosk.errors import KioskError
from kiosk.flow import Event
from kiosk.station import records, staff

if TYPE_CHECKING:
    from kiosk.station import Station

log = logging.getLogger("kiosk.station")


def parse_code(station: Station, e: flow.ParseCode) -> list[Event]:
    """Read a scanned code: accepted, rejected with the reason, or already captured here or elsewhere."""
    if station.parts.codebook is None:
        return [flow.CodeRejected("flow.error.no_codes")]
    from kiosk.tickets import is_ticket

    if is_ticket(e.payload) and e.purpose != "bind":
        return [flow.CodeRejected("flow.error.ticket_not_code")]
    now = station.now()
    batch = e.batch if e.purpose != "status" else None
    try:
        code = station.parts.codebook.parse(e.payload, batch, now)
        if e.purpose != "status" and station.parts.attempts is not None:
            with station.lock:
                station.parts.attempts.check(code.student_uid, now)
    except KioskError as exc:
        params = tuple(sorted((k, str(v)) for k, v in exc.params.items()))
        return [flow.CodeRejected(exc.key, params)]
    if e.purpose == "capture" and station.parts.store is not None:
        # one student, one photo in review: a second visit shows the first record's status
        with station.lock:
            view = records.lookup_status(station.parts.store, code.student_uid, None)
        if view is not None and view.status != "rejected":
            log.info("code.already_captured status=%s", view.status)
            return [flow.AlreadyCaptured(code, view)]
        if view is None and station.parts.lookup_remote is not None:
            # one student, one photo in review, across stations: the server knows the others' records
            asked, remote = staff.ask_server(station.parts.lookup_remote, e.batch.feature_code if e.batch else "",
                                             code)
            if not asked:
                log.info("code.unconfirmed")
                return [flow.CodeUnconfirmed(code)]
            if remote is not None and remote.status in staff.IN_REVIEW:
                log.info("code.captured_elsewhere status=%s", remote.status)
                return [flow.AlreadyCaptured(code, remote)]
    return [flow.CodeAccepted(code)]


def verify_last_four(station: Station, code: CollectionCode, typed: str) -> int | None:
    """None when ``typed`` is the code's last four, else the tries left (0: locked).

    The lock is checked first, so a locked code stays locked whatever is typed.
    """
    now = station.now()
    attempts = station.parts.attempts
    with station.lock:
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


def check_last_four(station: Station, e: flow.CheckLastFour) -> list[Event]:
    """Check the typed last four; a miss counts towards the code's lock."""
    code: CollectionCode = e.code
    left = verify_last_four(station, code, e.typed)
    if left is None:
        log.info("verify.ok")
        return [flow.LastFourOk(code.id_tail)]
    log.info("verify.miss tries_left=%d", left)
    return [flow.CodeLockedOut()] if left <= 0 else [flow.LastFourWrong(left)]


def lookup_status(station: Station, e: flow.LookupStatus) -> list[Event]:
    """The student's review status: this station's record, else the server's."""
    with station.lock:
        view = records.lookup_status(station.parts.store, e.code.student_uid, station.parts.refresh_status)
    if view is not None:
        return [flow.StatusFound(view)]
    if station.parts.lookup_remote is None:
        return [flow.StatusNotFound()]
    # not taken here: perhaps at another station, which only the server knows
    asked, remote = staff.ask_server(station.parts.lookup_remote, e.batch or station.batch_code(), e.code)
    if not asked:
        return [flow.StatusUnavailable("flow.status.server_unasked")]
    return [flow.StatusNotFound()] if remote is None else [flow.StatusFound(remote)]


def lookup_receipt(station: Station, e: flow.LookupReceipt) -> list[Event]:
    """The saved record's receipt as sync left it: queue position, the server's ticket after a clash."""
    with station.lock:
        record = station.parts.store.get(e.record_id)
    if record is None:
        return []
    return [flow.ReceiptRefreshed(records.receipt(record, station.links))]


def take_photo(station: Station, e: flow.TakePhoto) -> list[Event]:
    """Make the standard photo from the auto-capture shot, or from the best recent frame on a tap."""
    capture, analysis = e.capture, e.analysis
    if capture is None:
        capture, analysis, hint = station.frames.shoot_now()
        if capture is None:
            return [flow.PhotoFailed(hint or "flow.error.photo_failed")]
    if station.parts.make_photo is None:
        return [flow.PhotoFailed("flow.error.photo_failed")]
    try:
        if analysis is None and station.parts.analyzer is not None:
            analysis = station.frames.analyse(capture)
        photo = station.parts.make_photo(capture, analysis, station.parts.portrait)
    except KioskError as exc:
        log.info("photo.refused key=%s", exc.key)
        return [flow.PhotoFailed(exc.key)]
    log.info("photo.made bytes=%d", len(photo.jpeg))
    return [flow.PhotoReady(photo)]


def save_record(station: Station, e: flow.SaveRecord) -> list[Event]:
    """Write the record durably, then print the slip when a printer is configured."""
    if e.batch is None:
        return [flow.SaveFailed("flow.error.no_batch")]
    with station.lock:
        result = records.save_record(station.parts.store, station.parts.station_id, e.batch, e.student, e.photo,
                             keep_original=station.parts.portrait.keep_original, links=station.links,
                                     headwear_allowed=e.headwear_allowed)
    if isinstance(result, flow.Saved) and station.parts.receipt_printer:
        result = flow.Saved(print_slip_of(station, result.receipt))
    return [result]


def print_slip_again(station: Station, e: flow.PrintSlip) -> list[Event]:
    """The slip with the server's ticket, when a printer is set: the first one holds a ticket that no longer works."""
    if not station.parts.receipt_printer:
        return []
    printed = print_slip_of(station, e.receipt)
    return [flow.SlipFailed()] if printed.print_note else []


def print_slip_of(station: Station, slip_of: flow.Receipt) -> flow.Receipt:
    """Print the slip; the receipt with a note when the printer did not take it (never a failed save)."""
    from kiosk.station.slip import PrintFailed, Slip, print_slip

    slip = Slip(short_id=slip_of.short_id, status_link=slip_of.status_link, check_until=slip_of.check_until,
                ticket_display=slip_of.ticket_display, ticket_link=slip_of.ticket_link,
                help_phone=station.parts.help_phone, help_hours=station.parts.help_hours)
    try:
        print_slip(station.parts.receipt_printer, slip)
    except PrintFailed as exc:
        log.error("slip.failed reason=%s", exc)
        return dataclasses.replace(slip_of, print_note="staff.slip.failed")
    return slip_of


# Camera effects run on the GUI thread: they only leave a note, applied by the
# frame worker before its next frame, so they never wait for an analysis.

def start_camera(station: Station, e: flow.StartCamera) -> list[Event]:
    """Frames are for ``e.purpose`` from now on (a note for the frame worker)."""
    station.frames.request_reset(e.purpose, allow_headwear=e.allow_headwear)
    return []

def stop_camera(station: Station, e: flow.StopCamera) -> list[Event]:
    """No frames are wanted on this screen."""
    station.frames.request_reset("none")
    return []


def wipe_session(station: Station, e: flow.WipeSession) -> list[Event]:
    """Drop the frames and auto-capture state of the session that ended."""
    station.frames.request_reset("none")
    log.info("session.wiped")
    return []

def leave_kiosk(station: Station, e: flow.Quit) -> list[Event]:
    """Log that staff left kiosk mode (the app closes the window)."""
    log.warning("kiosk.leave requested=operator")
    return []


def count_retake(station: Station, e: flow.CountRetake) -> list[Event]:
    """Keep the student's retake count for the batch, so that a restart does not give the allowance again."""
    with station.lock:
        station.parts.store.keep_retakes(e.digest, e.batch, e.used)
    return []
