"""The station's staff effects: calls for help, status from the server, notice phones, the ticket desk, binding checks.

Helpers of ``kiosk.station``: each takes the store (the caller holds its lock)
or the server lookup and returns the flow event the effect yields. Nothing
personal is logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk import flow
from kiosk.codes.collection_code import normalise_last_four
from kiosk.codes.reference_format import mask_name
from kiosk.errors import KioskError
from kiosk.station.records import short_id
from kiosk.store.record import Record
from kiosk.sync.staff_calls import LookupFailed, LookupUnsupported
from kiosk.tickets import TicketError, display, normalise_ticket, ticket_of

if TYPE_CHECKING:
    from kiosk.codes.collection_code import CollectionCode
    from kiosk.station.parts import RecordStore

log = logging.getLogger(__name__)

#: the flow's reasons for calling staff, as the server names them (CONTRACTS §3b)
HELP_REASON = {"code_locked": "lockout", "no_code": "no_code", "camera_lost": "camera_lost",
               "save_failed": "save_failed"}
#: a mainland mobile number: what review-result notices are sent to
MOBILE = re.compile(r"^1[3-9]\d{9}$")
#: statuses on the server that mean the student's photo is in review or done: no second capture
IN_REVIEW = ("queued", "approved", "confirmed")

#: asks the server for the student's current record in a batch: ``(batch, student_uid) -> RemoteRecord | None``;
#: raises ``LookupFailed`` (or a ``KioskError``, ``OSError``) when the server cannot be asked
RemoteLookup = Callable[[str, str], Any]


def help_reason(flow_reason: str) -> str:
    """The server's name of a reason the flow gives for calling staff."""
    return HELP_REASON.get(flow_reason, "other")


def remote_view(found: Any) -> flow.StatusView:
    """How the status screen shows a record the server holds (perhaps taken at another station)."""
    return flow.StatusView(short_id=short_id(found.record_id), status=found.status,
                           queue_position=found.queue_position, reason=found.reason, refreshed=True)


def ask_server(lookup: RemoteLookup | None, batch: str, code: CollectionCode) -> tuple[bool, flow.StatusView | None]:
    """``(asked, view)``: whether the server answered, and the student's record there if it has one."""
    if lookup is None or not batch:
        return False, None
    try:
        found = lookup(batch, code.student_uid)
    except LookupUnsupported:
        # an older server: it cannot tell, and its own rule on upload is the only check; do not block students
        log.warning("status.remote_unsupported")
        return True, None
    except (LookupFailed, KioskError, OSError) as exc:  # any failure to ask is "unknown", never "none"
        log.info("status.remote_unavailable error=%s", type(exc).__name__)
        return False, None
    return True, (remote_view(found) if found is not None else None)


def record_card(record: Record) -> flow.RecordCard:
    """A codeless record as the operator sees it: photo, masked name, phone's last four, when."""
    photo = record.photo_path if record.photo_deleted_at is None and record.photo_path.exists() else None
    ticket = record.claim_ticket or ""
    try:
        shown = display(ticket) if ticket else ""
    except TicketError:
        shown = ticket
    return flow.RecordCard(
        record_id=record.id, short_id=short_id(record.id), ticket=ticket, ticket_display=shown,
        photo_path=str(photo) if photo is not None else "",
        masked_name=mask_name(record.name) if record.name else "",
        phone_tail=(record.phone or "")[-4:],
        captured_at=record.captured_at.astimezone().strftime("%m-%d %H:%M"),
        has_code=record.has_code,
        ticket_replaced=record.ticket_replaced,
    )


def save_contact(store: RecordStore, record_id: str, phone: str) -> flow.Event:
    """Keep ``phone`` for the record's review-result notice: ``ContactSaved`` or ``ContactRefused``."""
    number = re.sub(r"[\s\-]", "", normalise_last_four(phone))
    if not MOBILE.match(number):
        return flow.ContactRefused("flow.error.mobile_invalid")
    record = store.get(record_id)
    if record is None or not record.has_code:
        return flow.ContactRefused("flow.error.contact_failed")
    store.set_contact(record_id, number)
    log.info("contact.saved id=%s", record_id)
    return flow.ContactSaved()


def find_records(store: RecordStore, query: str, mode: str) -> flow.Event:
    """The ticket desk's search: by phone, by ticket (typed or its QR), or those waiting for a code."""
    if mode == "waiting":
        return flow.RecordsFound(tuple(record_card(r) for r in store.awaiting_code()), listed=True)
    if mode == "ticket":
        try:
            ticket = normalise_ticket(ticket_of(query))
        except TicketError as exc:
            return flow.RecordsUnavailable(exc.key)
        record = store.find_by_ticket(ticket)
        if record is None and store.replaced_ticket(ticket) is not None:
            # the server gave that record a new ticket (this one is another station's): find it by phone
            log.info("desk.ticket_replaced")
            return flow.RecordsUnavailable("flow.error.ticket_replaced")
        return flow.RecordsFound(() if record is None else (record_card(record),))
    number = re.sub(r"\D", "", query)
    if len(number) < 7:
        return flow.RecordsUnavailable("flow.error.phone_invalid")
    return flow.RecordsFound(tuple(record_card(r) for r in store.find_by_phone(number)))


def capture_last_four_differs(record: Record, code: CollectionCode) -> bool:
    """Whether the last four typed at the codeless capture differ from the code's (another student?)."""
    typed = normalise_last_four(record.id_last4 or "")
    return bool(typed) and typed != normalise_last_four(code.id_tail)
