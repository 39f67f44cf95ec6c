"""The station's small calls beside the uploads: heartbeat, help requests, notice phones, student lookup.

Each takes a ``SyncClient`` (its session, base URL and JSON call) and the
store. Help requests and notice phones are queued in the store like records:
what the server has not taken stays for the next cycle. The student lookup
is asked by a second station before it captures a student again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from typing import TYPE_CHECKING, Any

from kiosk.store.outbox import queue_place
from kiosk.store.record import format_time, parse_time

if TYPE_CHECKING:
    from kiosk.sync.client import SyncClient

log = logging.getLogger(__name__)

#: statuses a student's record may have on the server (CONTRACTS §1)
SERVER_STATUSES = ("awaiting_code", "queued", "approved", "rejected", "confirmed")


def station_version() -> str:
    """This program's version, as the heartbeat reports it."""
    try:
        return metadata.version("kiosk")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def send_heartbeat(client: SyncClient, queue_length: int, now: datetime) -> bool:
    """``POST /api/v1/stations/heartbeat``: version and queue length; whether the server took it."""
    body = {"version": station_version(), "queue_length": max(0, int(queue_length)), "sent_at": format_time(now)}
    _, data, failure = client.call("POST", "/api/v1/stations/heartbeat", body, quiet=True)
    if failure is not None:
        log.info("heartbeat.not_sent reason=%s", failure.reason)
        return False
    return data is not None


def push_help(client: SyncClient) -> int:
    """Push help requests (raised, then acknowledged) to ``PUT /api/v1/help/{id}``; how many were taken."""
    pushed = 0
    for request in client.store.help_to_push():
        if client.paused_until is not None:
            break
        status, _data, failure = client.call("PUT", f"/api/v1/help/{request.id}", request.body(), quiet=True)
        if failure is None:
            client.store.mark_help_pushed(request.id, "acknowledged" if request.acknowledged_at else "raised")
            pushed += 1
        elif status in (400, 422):
            # the server will never take this one as it is; keep it on the station, stop offering it
            log.error("help.refused id=%s reason=%s", request.id, failure.reason)
            client.store.mark_help_pushed(request.id, "refused")
        else:
            # down, unreachable, or a server without the call yet (404): keep it queued for a later cycle
            log.info("help.not_sent reason=%s", failure.reason if failure else "?")
            break
    return pushed


def push_contacts(client: SyncClient) -> int:
    """Push notice phones to ``PUT /api/v1/records/{id}/contact``; how many were taken."""
    pushed = 0
    for record in client.store.pending_contacts():
        if client.paused_until is not None:
            break
        status, _data, failure = client.call("PUT", f"/api/v1/records/{record.id}/contact",
                                             {"phone": record.contact_phone, "consent": True})
        if failure is None:
            client.store.mark_contact(record.id, "sent")
            pushed += 1
        elif status in (400, 404, 422):
            log.error("contact.refused id=%s reason=%s", record.id, failure.reason)
            client.store.mark_contact(record.id, "failed")
        else:
            break
    return pushed


@dataclass(frozen=True)
class RemoteRecord:
    """A student's current record on the server (``POST /api/v1/students/lookup``)."""

    record_id: str
    status: str
    queue_position: int | None = None
    reason: str | None = None
    captured_at: datetime | None = None
    station_id: str = ""


class LookupFailed(Exception):
    """The server could not be asked (down, unreachable, refused our token, or answered nonsense)."""


class LookupUnsupported(Exception):
    """The server has no student lookup (an older server answered 404/405 for the call itself)."""


def lookup_student(client: SyncClient, batch: str, student_uid: str) -> RemoteRecord | None:
    """The student's current record in ``batch`` on the server, or None when it has none.

    Raises ``LookupFailed`` when the server cannot say: that is not "none";
    ``LookupUnsupported`` when the server has no such call (its own upload
    rule is then the only check).
    """
    status, data, failure = client.call("POST", "/api/v1/students/lookup",
                                        {"batch": batch, "student_uid": student_uid}, quiet=True)
    if failure is not None and status in (404, 405):
        raise LookupUnsupported(failure.reason)
    if failure is not None or data is None or "record" not in data:
        raise LookupFailed(failure.reason if failure else "no answer")
    record = data["record"]
    if record is None:
        return None
    return _remote_record(record)


def _remote_record(item: Any) -> RemoteRecord:
    if not isinstance(item, dict):
        raise LookupFailed("record not an object")
    record_id, status = item.get("record_id"), item.get("status")
    if not isinstance(record_id, str) or status not in SERVER_STATUSES:
        raise LookupFailed("record without id or known status")
    position = queue_place(item.get("queue_position"))
    reason = item.get("reason") if isinstance(item.get("reason"), str) else None
    try:
        captured = parse_time(item.get("captured_at")) if isinstance(item.get("captured_at"), str) else None
    except ValueError:
        captured = None
    station = item.get("station_id")
    station = station if isinstance(station, str) else ""
    return RemoteRecord(record_id, status, position, reason, captured, station)
