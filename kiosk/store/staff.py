"""The store's staff side: help requests, notice phones, the station log, codeless records to find.

``Store`` inherits this. A help request (a student needs staff) is raised on
the station, shown until staff acknowledge it, and pushed to the server by the
sync loop like a record: it stays queued while the server cannot be reached.
A phone number left on the Done screen for review-result notices is kept on
its record and pushed on its own (``contact_state``). The station log is an
append-only audit of operator actions that belong to no single record's trail
(a code unlocked) or must stand out in it (a last-four override).
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime

from kiosk.store.errors import UnknownRecord, typed
from kiosk.store.part import StorePart
from kiosk.store.record import Record, format_time, parse_time

log = logging.getLogger(__name__)

#: why a student needs staff (the server's list, CONTRACTS §3b)
HELP_REASONS = ("lockout", "no_code", "camera_lost", "save_failed", "other")


@dataclass(frozen=True)
class HelpRequest:
    """A call for staff: raised on the station, acknowledged by staff, pushed to the server."""

    id: str  # a UUID made on the station (the server's idempotency key)
    reason: str  # one of HELP_REASONS
    raised_at: datetime
    acknowledged_at: datetime | None = None
    synced: str | None = None  # what the server has: None (nothing), "raised", "acknowledged"; "refused"

    @property
    def open(self) -> bool:
        """Whether staff have not acknowledged it yet."""
        return self.acknowledged_at is None

    def body(self) -> dict[str, object]:
        """The request's JSON body for ``PUT /api/v1/help/{id}``."""
        return {"reason": self.reason, "raised_at": format_time(self.raised_at),
                "acknowledged_at": format_time(self.acknowledged_at) if self.acknowledged_at else None}


def _help(row: sqlite3.Row) -> HelpRequest:
    return HelpRequest(id=row["id"], reason=row["reason"], raised_at=parse_time(row["raised_at"]),  # type: ignore[arg-type]
                       acknowledged_at=parse_time(row["acknowledged_at"]), synced=row["synced"])


class StaffDesk(StorePart):
    """The staff half of ``Store``; needs the store's connection, clock and transactions."""

    # -- help requests ----------------------------------------------------------

    @typed
    def raise_help(self, reason: str) -> HelpRequest:
        """Store a new help request; an unknown ``reason`` is kept as "other"."""
        reason = reason if reason in HELP_REASONS else "other"
        request = HelpRequest(str(uuid.uuid4()), reason, self._clock())
        with self.write() as conn:
            conn.execute("INSERT INTO help_requests (id, reason, raised_at) VALUES (?,?,?)",
                         (request.id, reason, format_time(request.raised_at)))
        log.warning("help.raised id=%s reason=%s", request.id, reason)
        return request

    @typed
    def acknowledge_help(self, request_id: str | None = None) -> int:
        """Mark one open help request (or all, when ``request_id`` is None) acknowledged; how many."""
        at = format_time(self._clock())
        with self.write() as conn:
            if request_id is None:
                changed = conn.execute("UPDATE help_requests SET acknowledged_at = ? WHERE acknowledged_at IS NULL",
                                       (at,)).rowcount
            else:
                changed = conn.execute("UPDATE help_requests SET acknowledged_at = ? WHERE id = ? "
                                       "AND acknowledged_at IS NULL", (at, request_id)).rowcount
        log.info("help.acknowledged count=%d", changed)
        return int(changed)

    @typed
    def open_help(self) -> list[HelpRequest]:
        """Help requests staff have not acknowledged, oldest first."""
        rows = self._conn.execute("SELECT * FROM help_requests WHERE acknowledged_at IS NULL ORDER BY seq")
        return [_help(r) for r in rows]

    @typed
    def help_to_push(self) -> list[HelpRequest]:
        """Help requests whose newest state the server has not taken yet, oldest first."""
        rows = self._conn.execute(
            """SELECT * FROM help_requests WHERE synced IS NULL
                 OR (synced = 'raised' AND acknowledged_at IS NOT NULL) ORDER BY seq""")
        return [_help(r) for r in rows]

    @typed
    def mark_help_pushed(self, request_id: str, synced: str) -> None:
        """Record what the server holds of a help request: "raised", "acknowledged" or "refused"."""
        with self.write() as conn:
            conn.execute("UPDATE help_requests SET synced = ? WHERE id = ?", (synced, request_id))

    # -- notice phones ------------------------------------------------------------

    @typed
    def set_contact(self, record_id: str, phone: str) -> Record:
        """Keep ``phone`` (given with consent) for the record's review-result notice; pushed by sync."""
        with self.write() as conn:
            changed = conn.execute("UPDATE records SET contact_phone = ?, contact_at = ?, contact_state = 'pending' "
                                   "WHERE id = ?", (phone, format_time(self._clock()), record_id)).rowcount
            if not changed:
                raise UnknownRecord(detail=f"id={record_id}")
            self.event(conn, record_id, "contact", None, None, detail="consent")
        row = self._conn.execute("SELECT * FROM records WHERE id = ?", (record_id,)).fetchone()
        return self._record(row)

    @typed
    def pending_contacts(self) -> list[Record]:
        """Records with a notice phone not yet pushed, whose upload the server acknowledged."""
        rows = self._conn.execute("SELECT * FROM records WHERE contact_state = 'pending' AND sync_state = 'sent' "
                                  "ORDER BY seq")
        return [self._record(r) for r in rows]

    @typed
    def mark_contact(self, record_id: str, state: str) -> None:
        """The notice phone's push: "sent" or "failed" (the server will not take it)."""
        with self.write() as conn:
            conn.execute("UPDATE records SET contact_state = ? WHERE id = ?", (state, record_id))
            self.event(conn, record_id, "contact_" + state, None, None)

    # -- codeless records, for staff ---------------------------------------------------

    @typed
    def find_by_phone(self, phone: str) -> list[Record]:
        """Codeless records captured with this phone number, newest first."""
        rows = self._conn.execute("SELECT * FROM records WHERE codeless = 1 AND phone = ? ORDER BY seq DESC",
                                  (phone,))
        return [self._record(r) for r in rows]

    @typed
    def awaiting_code(self, limit: int = 50) -> list[Record]:
        """Codeless records still waiting for their collection code, newest first."""
        rows = self._conn.execute("SELECT * FROM records WHERE codeless = 1 AND code_payload IS NULL "
                                  "ORDER BY seq DESC LIMIT ?", (limit,))
        return [self._record(r) for r in rows]

    # -- the station log ------------------------------------------------------------------

    @typed
    def audit(self, kind: str, detail: str = "", record_id: str | None = None) -> None:
        """Append an operator action to the station log (and to the record's trail); no personal data."""
        with self.write() as conn:
            conn.execute("INSERT INTO station_log (at, kind, detail) VALUES (?,?,?)",
                         (format_time(self._clock()), kind, detail or None))
            if record_id is not None:
                self.event(conn, record_id, kind, None, None, detail=detail)
        log.warning("audit kind=%s", kind)

    @typed
    def station_log(self, limit: int = 200) -> list[dict[str, str | None]]:
        """The station log, newest first."""
        rows = self._conn.execute("SELECT at, kind, detail FROM station_log ORDER BY id DESC LIMIT ?", (limit,))
        return [dict(r) for r in rows]
