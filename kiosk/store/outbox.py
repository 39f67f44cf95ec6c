"""The store's sync side: the upload queue, the server's review status, bindings to push.

``Store`` inherits this; it is the part the sync client uses. States:
``pending -> sending (lease) -> sent | retry (next_at) | dead``. Picking the
next record goes through two partial indexes (new records by age, retries
and expired leases by due time), so it costs the same with 100,000 queued
records as with one. Every change of state appends an event.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from kiosk.store.errors import typed
from kiosk.store.part import StorePart
from kiosk.store.record import Record, format_time
from kiosk.tickets import TicketError, normalise_ticket

log = logging.getLogger(__name__)

#: review statuses after which the server has nothing more to tell about a record
FINAL_REVIEW = ("confirmed", "rejected")
#: sync states of records the server has not acknowledged yet (dead ones aside)
ACTIVE = ("pending", "sending", "retry")


def normalise_stored(ticket: str) -> str:
    """A ticket as the server stores it: upper case, without separators (a record's own may be spelt otherwise)."""
    return "".join(ch for ch in ticket.upper() if ch.isalnum())


def queue_place(value: object) -> int | None:
    """A queue position from the server if it is one (1 .. 2**31-1), else None: never a crash on storing it."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31:
        return value
    return None


class Outbox(StorePart):
    """The sync half of ``Store``; needs the store's connection, clock, transactions and events."""

    def lease_next(self, worker: str, lease_s: float, now: datetime) -> Record | None:
        """Lease the oldest record that is due to a sync worker, or None.

        Due: pending, or a retry whose time has come, or a lease that ran out.
        """
        leased = self.lease_batch(worker, lease_s, now, 1)
        return leased[0] if leased else None

    def lease_batch(self, worker: str, lease_s: float, now: datetime, limit: int) -> list[Record]:
        """Lease up to ``limit`` due records, oldest first, in one transaction (one fsync for all).

        The worker still sends them one per request; what it does not get to
        it gives back with ``release_all``.
        """
        t = now.timestamp()
        until = t + lease_s
        seqs: list[int] = []
        with self.write() as conn:
            for _ in range(limit):
                row = conn.execute(
                    """SELECT seq, id, sync_state FROM records WHERE seq = (SELECT min(seq) FROM (
                         SELECT seq FROM (SELECT seq FROM records INDEXED BY records_pending
                                          WHERE sync_state = 'pending' ORDER BY seq LIMIT 1)
                         UNION ALL
                         SELECT seq FROM (SELECT seq FROM records INDEXED BY records_due
                                          WHERE sync_state IN ('retry', 'sending') AND due_at <= ?
                                          ORDER BY due_at LIMIT 1)))""", (t,)).fetchone()
                if row is None:
                    break
                conn.execute("UPDATE records SET sync_state = 'sending', lease_owner = ?, lease_until = ?, "
                             "due_at = ? WHERE seq = ?", (worker, until, until, row["seq"]))
                self.event(conn, row["id"], "leased", row["sync_state"], "sending", detail=f"worker={worker}")
                seqs.append(row["seq"])
            rows = [conn.execute("SELECT * FROM records WHERE seq = ?", (seq,)).fetchone() for seq in seqs]
        return [self._record(r) for r in rows]

    def _finish(self, record_id: str, to_state: str, sets: str, params: tuple[Any, ...], *, detail: str,
                only_if_sending: bool = True, worker: str | None = None) -> bool:
        with self.write() as conn:
            row = self._row(record_id)
            stale = row["sync_state"] != "sending" or (worker is not None and row["lease_owner"] != worker)
            if only_if_sending and stale:
                # another worker took the record over after our lease ran out: its result wins,
                # and the record must not be freed for a third worker while that one is sending
                log.warning("record.stale_result id=%s state=%s", record_id, row["sync_state"])
                return False
            conn.execute(f"UPDATE records SET sync_state = ?, lease_owner = NULL, lease_until = NULL, {sets} "
                         "WHERE id = ?", (to_state, *params, record_id))
            self.event(conn, record_id, to_state, row["sync_state"], to_state, detail=detail)
        return True

    def mark_sent(self, record_id: str, ack: dict[str, Any]) -> None:
        """The server acknowledged the record (``ack`` is its answer: status, queue_position, ticket).

        A ticket in the answer other than the record's own is adopted first (see
        ``adopt_ticket``), so that a record is never ``sent`` with its clashed ticket.
        """
        self.adopt_ticket(record_id, ack.get("ticket"))
        position = ack.get("queue_position")
        status = ack.get("status")
        self._finish(record_id, "sent",
                     "attempts = attempts + 1, due_at = 0, last_error = NULL, sent_at = ?, "
                     "review_status = coalesce(?, review_status), queue_position = ?",
                     (format_time(self._clock()), status if isinstance(status, str) else None,
                      queue_place(position)),
                     detail=f"status={status}", only_if_sending=False)
        log.info("record.sent id=%s", record_id)

    def adopt_ticket(self, record_id: str, server_ticket: object) -> str | None:
        """Keep the server's ticket for a codeless record when it is not the one made here; the one adopted.

        Another station made the same ticket and its record reached the server
        first: the server keeps this record under a fresh ticket and says so in
        every acknowledgement of it (replays too). The station's own stays in
        ``ticket`` (the upload sends it unchanged); ``server_ticket`` is what the
        student claims the record with from now on. A ticket in the answer that
        is not a valid ticket is not adopted (logged): the record keeps its own.
        """
        if server_ticket is None:
            return None
        try:
            adopted = normalise_ticket(server_ticket) if isinstance(server_ticket, str) else None
        except TicketError:
            adopted = None
        if adopted is None:
            log.warning("record.ticket_ack_unusable id=%s", record_id)
            return None
        with self.write() as conn:
            row = self._row(record_id)
            if row["ticket"] is None:
                return None
            own = normalise_stored(row["ticket"])
            kept = None if adopted == own else adopted
            if kept == row["server_ticket"]:
                return kept
            conn.execute("UPDATE records SET server_ticket = ? WHERE id = ?", (kept, record_id))
            self.event(conn, record_id, "ticket_reassigned" if kept else "ticket_confirmed", None, None,
                       detail="server")
        # the tickets themselves are not logged: a ticket is the key to a student's record
        if kept:
            log.warning("record.ticket_reassigned id=%s", record_id)
        else:
            log.info("record.ticket_confirmed id=%s", record_id)
        return kept

    def mark_retry(self, record_id: str, error: str, next_at: datetime, *, worker: str | None = None) -> None:
        """Sending failed for a passing reason; try again at ``next_at``.

        With ``worker``, only while that worker still holds the lease (so for this and the
        other ``mark_*``/``release*`` calls below).
        """
        if self._finish(record_id, "retry", "attempts = attempts + 1, due_at = ?, last_error = ?",
                        (next_at.timestamp(), error), detail=error, worker=worker):
            log.info("record.retry id=%s error=%s", record_id, error)

    def mark_dead(self, record_id: str, reason: str, *, worker: str | None = None) -> None:
        """The server refused the record for good (``reason`` for the operator)."""
        if self._finish(record_id, "dead", "attempts = attempts + 1, due_at = 0, last_error = ?, dead_reason = ?",
                        (reason, reason), detail=reason, worker=worker):
            log.warning("record.dead id=%s reason=%s", record_id, reason)

    def release(self, record_id: str, note: str, *, worker: str | None = None) -> None:
        """Give a leased record back as pending without counting an attempt (queue paused)."""
        self._finish(record_id, "pending", "due_at = 0, last_error = ?", (note,), detail=note, worker=worker)

    def release_all(self, record_ids: list[str], note: str, *, worker: str | None = None) -> None:
        """Give back leased records not tried, in one transaction; attempts are not counted."""
        if not record_ids:
            return
        with self.write() as conn:
            for record_id in record_ids:
                changed = conn.execute("UPDATE records SET sync_state = 'pending', lease_owner = NULL, "
                                       "lease_until = NULL, due_at = 0 WHERE id = ? AND sync_state = 'sending' "
                                       "AND (? IS NULL OR lease_owner = ?)", (record_id, worker, worker)).rowcount
                if changed:
                    self.event(conn, record_id, "released", "sending", "pending", detail=note)

    def recover_leases(self, now: datetime) -> int:
        """Put records whose lease ran out back to pending; how many."""
        with self.write() as conn:
            rows = conn.execute("SELECT id FROM records WHERE sync_state = 'sending' AND lease_until < ?",
                                (now.timestamp(),)).fetchall()
            for row in rows:
                conn.execute("UPDATE records SET sync_state = 'pending', lease_owner = NULL, lease_until = NULL, "
                             "due_at = 0 WHERE id = ?", (row["id"],))
                self.event(conn, row["id"], "lease_expired", "sending", "pending")
        if rows:
            log.warning("store.leases_recovered count=%d", len(rows))
        return len(rows)

    @typed
    def queue_length(self) -> int:
        """Records not yet acknowledged by the server (dead ones excluded)."""
        return int(self._conn.execute("SELECT count(*) FROM records WHERE sync_state IN (?,?,?)",
                                      ACTIVE).fetchone()[0])

    @typed
    def next_due(self) -> datetime | None:
        """When the next record falls due (now, if one is pending); None when nothing is queued."""
        if self._conn.execute("SELECT 1 FROM records WHERE sync_state = 'pending' LIMIT 1").fetchone():
            return datetime.fromtimestamp(0, UTC)
        row = self._conn.execute("SELECT min(due_at) FROM records WHERE sync_state IN ('retry', 'sending')").fetchone()
        return None if row[0] is None else datetime.fromtimestamp(row[0], UTC)

    # -- review status and bindings ----------------------------------------

    def set_review(self, record_id: str, status: str | None, position: int | None, reason: str | None) -> bool:
        """Store the server's review status; True when it changed (an event is written then)."""
        position = queue_place(position)
        with self.write() as conn:
            row = self._row(record_id)
            if (row["review_status"], row["queue_position"], row["review_reason"]) == (status, position, reason):
                return False
            conn.execute("UPDATE records SET review_status = ?, queue_position = ?, review_reason = ? WHERE id = ?",
                         (status, position, reason, record_id))
            if row["review_status"] != status:
                self.event(conn, record_id, "review", row["review_status"], status)
        return True

    @typed
    def review_open(self, limit: int | None = None) -> list[str]:
        """Ids of sent records whose review is not final, oldest first."""
        sql = ("SELECT id FROM records WHERE sync_state = 'sent' AND "
               "(review_status IS NULL OR review_status NOT IN (?, ?)) ORDER BY seq")
        params: list[Any] = list(FINAL_REVIEW)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [r["id"] for r in self._conn.execute(sql, params)]

    @typed
    def pending_bindings(self, limit: int = 50) -> list[Record]:
        """Sent records whose code, bound at the station, still has to reach the server."""
        rows = self._conn.execute("SELECT * FROM records WHERE binding_state = 'pending' AND sync_state = 'sent' "
                                  "ORDER BY seq LIMIT ?", (limit,))
        return [self._record(r) for r in rows]

    def mark_binding(self, record_id: str, state: str, error: str | None = None) -> None:
        """Record the server's answer to a pushed binding: "sent" or "failed" (with ``error``)."""
        with self.write() as conn:
            self._row(record_id)
            conn.execute("UPDATE records SET binding_state = ?, binding_error = ? WHERE id = ?",
                         (state, error, record_id))
            self.event(conn, record_id, f"binding_{state}", "pending", state, detail=error or "")
