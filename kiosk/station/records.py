"""The station's record effects: save a capture, look up a status, find a ticket, bind a code.

Helpers of ``kiosk.station``: each takes the store and returns the flow
event the effect yields, turning the store's errors into the flow's inline
messages. The caller holds the store lock.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from kiosk import flow
from kiosk.batch import Batch
from kiosk.codes.collection_code import CollectionCode, normalise_last_four
from kiosk.errors import KioskError
from kiosk.store import AlreadyBound, DatabaseDamaged, DiskFull, StoreError, UnknownTicket
from kiosk.store.record import NewRecord, Record
from kiosk.tickets import TicketError, bind_link, display, new_ticket, normalise_ticket, ticket_of

if TYPE_CHECKING:
    from kiosk.station.parts import Photo, RecordStore, StatusRefresh

log = logging.getLogger(__name__)

#: how a record's review status reads before the server has one
_PENDING = "pending"

#: a mainland mobile, a landline with its area code, or an international number
_PHONE = re.compile(r"^(?:1[3-9]\d{9}|0\d{9,11}|\+\d{8,15})$")
_PHONE_SEPARATORS = re.compile(r"[\s\-()（）]")
#: four digits/letters, or one before and one inside parentheses ("3(7)")
_LAST_FOUR = re.compile(r"^(?:[0-9A-Z]{4}|[0-9A-Z]\([0-9A-Z]\))$")
NAME_MAX = 40


def check_codeless(phone: str, id_last4: str, name: str) -> flow.Event:
    """The codeless form normalised (``CodelessOk``) or its first wrong field (``CodelessInvalid``)."""
    phone = _PHONE_SEPARATORS.sub("", normalise_last_four(phone))
    if not _PHONE.match(phone):
        return flow.CodelessInvalid("phone", "flow.error.phone_invalid")
    last4 = normalise_last_four(id_last4)
    if not _LAST_FOUR.match(last4):
        return flow.CodelessInvalid("id_last4", "flow.error.last_four_invalid")
    name = " ".join(name.split())
    if len(name) > NAME_MAX or not name.isprintable():
        return flow.CodelessInvalid("name", "flow.error.name_invalid")
    return flow.CodelessOk(phone=phone, id_last4=last4, name=name)


def short_id(record_id: str) -> str:
    """The record id as a receipt shows it: its first eight hex digits, upper case."""
    return record_id.replace("-", "")[:8].upper()


@dataclass(frozen=True)
class Links:
    """Where students' phones reach the server: the status page and the bind page.

    ``public_url`` is the server as phones reach it (``[station] public_url``,
    else ``[sync] server_url``); ``template`` is the older ``[flow] status_url``
    used when a record has no status secret or no public URL is known.
    """

    public_url: str = ""
    template: str = ""
    check_days: int = 30  # how long the status page is the student's to check and confirm


def status_link(record_id: str, template: str, secret: str | None = None, public_url: str = "") -> str:
    """The status QR's text: the student's status page by its capability, else ``template`` or the id alone.

    Never anything guessable when a secret exists: the record id is not a capability.
    """
    if secret and public_url:
        return f"{public_url.rstrip('/')}/s/{secret}"
    return template.replace("{record_id}", record_id) if template else record_id


def receipt(record: Record, links: Links | str = "") -> flow.Receipt:
    """The Done screen's receipt for ``record``."""
    links = links if isinstance(links, Links) else Links(template=links)
    codeless_ticket = record.claim_ticket if record.codeless and record.claim_ticket else None
    until = (record.captured_at.astimezone().date() + timedelta(days=links.check_days)).isoformat()
    return flow.Receipt(
        record_id=record.id,
        short_id=short_id(record.id),
        queue_position=record.queue_position,
        status_link=status_link(record.id, links.template, record.status_secret, links.public_url),
        ticket=codeless_ticket,
        ticket_display=display(codeless_ticket) if codeless_ticket else "",
        ticket_link=bind_link(links.public_url, codeless_ticket) if codeless_ticket else "",
        check_until=until,
        has_code=record.has_code,
    )


def _unused_ticket(store: RecordStore) -> str:
    # 40 random bits make a clash unlikely; checking costs one indexed lookup. A clash with another
    # station's ticket is found by the server, which gives the record a fresh one (adopted at sync).
    for _ in range(5):
        ticket = new_ticket()
        if not store.ticket_in_use(ticket):
            return ticket
    raise StoreError("store.failed", "no free ticket")


def _measurements_of(photo: Photo) -> dict[str, Any] | None:
    """The photo's own compliance measurements for the reviewer, when it carries them (``StandardPhoto`` does)."""
    found = getattr(photo, "measurements", None)
    return dict(found) if found else None


def save_record(store: RecordStore, station_id: str, batch: Batch, student: flow.Student, photo: Photo, *,
                keep_original: bool, links: Links, headwear_allowed: bool = False) -> flow.Event:
    """Write the record durably: ``Saved`` with its receipt, or ``SaveFailed`` with nothing stored.

    ``headwear_allowed``: staff allowed religious or medical headwear for this capture (sent to the
    reviewer with the record) and written to the station log.
    """
    code: CollectionCode | None = student.code
    try:
        new = NewRecord(
            batch=batch.feature_code,
            station_id=station_id,
            code_payload=code.payload if code is not None else None,
            code_fields=code.public_fields() if code is not None else None,
            student_uid=code.student_uid if code is not None else None,
            id_last4=student.id_last4 or None,
            codeless=student.codeless,
            ticket=_unused_ticket(store) if student.codeless else None,
            phone=student.phone or None,
            name=student.name or None,
            # the student's capability to their status page: unguessable, made here, only its hash on the server
            status_secret=secrets.token_urlsafe(24),
            headwear_allowed=headwear_allowed,
            measurements=_measurements_of(photo),
        )
        original = photo.original_jpeg if keep_original else None
        record = store.add_record(new, photo.jpeg, original)
    except DiskFull:
        log.error("record.not_saved reason=disk_full")
        return flow.SaveFailed("flow.error.not_saved_disk_full")
    except DatabaseDamaged:
        log.error("record.not_saved reason=database_damaged")
        return flow.SaveFailed("flow.error.database_damaged")
    except StoreError as exc:
        log.error("record.not_saved reason=%s", exc.key)
        return flow.SaveFailed("flow.error.not_saved")
    log.info("record.saved id=%s codeless=%d headwear_allowed=%d", record.id, int(record.codeless),
             int(headwear_allowed))
    if headwear_allowed:
        try:
            store.audit("headwear_allowed", "capture", record_id=record.id)
        except StoreError as exc:  # the record is saved and carries the flag: a failed log line must not undo that
            log.error("audit.failed kind=headwear_allowed key=%s", exc.key)
    return flow.Saved(receipt(record, links))


def status_view(record: Record, refreshed: bool) -> flow.StatusView:
    """How the status screen shows ``record``."""
    status = record.review_status
    if status is None:
        status = "awaiting_code" if record.codeless and record.code_payload is None else _PENDING
    return flow.StatusView(short_id=short_id(record.id), status=status, queue_position=record.queue_position,
                           reason=record.review_reason, refreshed=refreshed)


def lookup_status(store: RecordStore, student_uid: str, refresh: StatusRefresh | None) -> flow.StatusView | None:
    """The newest record of this student, refreshed from the server when it answers; None if there is none."""
    records: list[Record] = store.find_by_student(student_uid)
    if not records:
        return None
    refreshed = False
    if refresh is not None:
        try:
            refreshed = refresh() is not False
        except (KioskError, OSError) as exc:
            # the server being down changes nothing for the student: show what the station knows
            log.info("status.refresh_failed error=%s", type(exc).__name__)
        if refreshed:
            records = store.find_by_student(student_uid) or records
    return status_view(records[0], refreshed)


def find_ticket(store: RecordStore, text: str) -> flow.Event:
    """``TicketFound`` for a ticket of a codeless record still waiting for its code, else ``TicketRejected``."""
    try:
        ticket = normalise_ticket(ticket_of(text))
    except TicketError as exc:
        return flow.TicketRejected(exc.key)
    record: Record | None = store.find_by_ticket(ticket)
    if record is None:
        if store.replaced_ticket(ticket) is not None:
            # on the server this ticket is another station's record: binding by it could bind the wrong student
            log.info("ticket.replaced")
            return flow.TicketRejected("flow.error.ticket_replaced")
        log.info("ticket.unknown")
        return flow.TicketRejected("flow.error.ticket_unknown")
    if record.code_payload is not None:
        return flow.TicketRejected("flow.error.ticket_bound")
    return flow.TicketFound(ticket, short_id(record.id))


def bind_code(store: RecordStore, ticket: str, code: CollectionCode, links: Links) -> flow.Event:
    """Bind ``code`` (its last four already checked) to the ticket's record: ``Bound`` or ``BindFailed``."""
    others = [r for r in store.find_by_student(code.student_uid)
              if r.claim_ticket != ticket and r.review_status != "rejected"]
    if others:
        # the student already has a capture with this code: a second would compete with it in review
        log.info("bind.refused reason=code_in_use")
        return flow.BindFailed("flow.error.code_in_use")
    try:
        record = store.bind_code(ticket, code.payload, code.public_fields(), code.student_uid, code.id_tail)
    except UnknownTicket:
        return flow.BindFailed("flow.error.ticket_unknown")
    except AlreadyBound:
        return flow.BindFailed("flow.error.ticket_bound")
    except StoreError as exc:
        log.error("bind.failed key=%s", exc.key)
        return flow.BindFailed("flow.error.bind_failed")
    return flow.Bound(receipt(record, links))
