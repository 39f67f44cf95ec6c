"""Binding a collection code to a codeless record by its claim ticket.

The same call serves the station (with its token) and the student's phone (no
token). Order of checks: the ticket's spelling (its check character), the ticket
exists, the phone has not been locked out of this ticket, the code parses for
the record's batch, the typed last four match the code; only then is the record
compared with any code already bound, so a refusal never tells a guesser more
than "wrong". Unauthenticated misses on a ticket are counted in the database;
after ``max_misses`` the ticket is locked for phones for ``lock_minutes``.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from kiosk.batch import Batch
from kiosk.config import CodesSection
from kiosk.errors import KioskError
from kiosk.server.batches import BatchBook
from kiosk.server.db import Database
from kiosk.server.problems import Problem
from kiosk.server.records import next_queue_seq, normalise_stored_ticket
from kiosk.server.schema import BindResponse
from kiosk.text import bilingual

log = logging.getLogger(__name__)


class CodeChecker(Protocol):
    """What binding needs of collection codes (``kiosk.codes`` in production, a fake in tests)."""

    def parse(self, payload: str, batch: Batch | None, now: datetime) -> Any:
        """The parsed code (a ``kiosk.codes.CollectionCode``); a ``KioskError`` when refused."""

    def last_four_matches(self, code: Any, typed: str) -> bool:
        """Whether ``typed`` matches the code's visible last four."""


class CodesUnavailable(KioskError):
    """The server cannot check codes (its key file is missing or unreadable)."""

    default_key = "server.codes_unavailable"


class KioskCodes:
    """``CodeChecker`` over ``kiosk.codes``; the code book (and its key file) is loaded on first use."""

    def __init__(self, settings: CodesSection) -> None:
        self._settings = settings
        self._book: Any = None

    def _codebook(self) -> Any:
        if self._book is None:
            try:
                from kiosk.codes import CodeBook

                self._book = CodeBook.from_settings(self._settings)
            except ImportError as exc:
                raise CodesUnavailable(detail=f"kiosk.codes: {exc}") from None
            except KioskError as exc:
                raise CodesUnavailable(detail=f"{exc.key}: {exc.detail}") from None
        return self._book

    def parse(self, payload: str, batch: Batch | None, now: datetime) -> Any:
        """The parsed code, or the codes module's ``CodeError``."""
        book = self._codebook()
        return book.parse(payload, batch, now)

    def last_four_matches(self, code: Any, typed: str) -> bool:
        """``kiosk.codes.last_four_matches``."""
        from kiosk.codes import last_four_matches

        return bool(last_four_matches(code, typed))


def normalise_typed_ticket(text: str) -> str:
    """A ticket as a person typed it, checked (``kiosk.tickets``) and in its stored form."""
    try:
        from kiosk.tickets import normalise_ticket
    except ImportError:
        return normalise_stored_ticket(text)
    try:
        return normalise_stored_ticket(normalise_ticket(text))
    except KioskError as exc:
        raise Problem(422, "bad-ticket", "the ticket is mistyped", error=exc, message_key=exc.key,
                      message=exc.bilingual()) from None


@dataclass(frozen=True)
class BindLimits:
    """How many unauthenticated misses lock a ticket, and for how long."""

    max_misses: int = 5
    lock_minutes: float = 15.0


class Binder:
    """Binds codes to codeless records."""

    def __init__(self, db: Database, batches: BatchBook, codes: CodeChecker, limits: BindLimits) -> None:
        self._db = db
        self._batches = batches
        self._codes = codes
        self._limits = limits

    def bind(self, ticket_text: str, payload: str, id_last4: str, *, trusted: bool, now: datetime) -> BindResponse:
        """Bind the code ``payload`` to the record holding the ticket; ``trusted`` for a station's call."""
        ticket = normalise_typed_ticket(ticket_text)
        with self._db.read() as conn:
            row = conn.execute("SELECT record_id, batch, status, student_uid, code_payload FROM records "
                               "WHERE ticket=?", (ticket,)).fetchone()
        if row is None:
            log.info("bind.unknown_ticket")
            raise Problem(404, "unknown-ticket", "no record holds this ticket")
        record_id = str(row["record_id"])
        if not trusted:
            self._check_lock(ticket, now)
        try:
            code = self._codes.parse(payload, self._batches.get(row["batch"]), now)
        except CodesUnavailable as exc:
            log.error("bind.codes_unavailable detail=%s", exc.detail)
            raise Problem(503, "codes-unavailable", "collection codes cannot be checked now",
                          headers={"Retry-After": "60"}) from None
        except KioskError as exc:
            self._miss(ticket, trusted, now, record_id, exc.key)
            raise Problem(422, "bad-code", "the collection code was refused", error=exc, message_key=exc.key,
                          message=exc.bilingual(), **self._left(ticket, trusted)) from None
        if not self._codes.last_four_matches(code, id_last4):
            self._miss(ticket, trusted, now, record_id, "last_four")
            raise Problem(422, "wrong-last-four", "the last four do not match the code",
                          message_key="server.problem.wrong-last-four",
                          message=bilingual("server.problem.wrong-last-four"), **self._left(ticket, trusted))
        student_uid = str(getattr(code, "student_uid", "") or "") or None
        public = code.public_fields() if hasattr(code, "public_fields") else None
        tail = str(getattr(code, "id_tail", "") or id_last4)
        with self._db.write() as conn:
            current = conn.execute("SELECT status, student_uid, code_payload FROM records WHERE record_id=?",
                                   (record_id,)).fetchone()
            if current is None:  # purged between the look-up and now
                raise Problem(404, "unknown-ticket", "no record holds this ticket")
            if current["code_payload"] is not None:
                same = (current["student_uid"] == student_uid) if student_uid and current["student_uid"] \
                    else current["code_payload"] == payload
                if not same:
                    log.info("bind.conflict id=%s", record_id)
                    raise Problem(409, "bound-elsewhere", "this ticket is already bound to another code")
                status = str(current["status"])
            else:
                status = "queued" if current["status"] == "awaiting_code" else str(current["status"])
                conn.execute(
                    "UPDATE records SET code_payload=?, code_json=?, student_uid=?, id_last4=?, status=?, "
                    "queue_seq=CASE WHEN ?='queued' THEN ? ELSE queue_seq END, bound_at=? WHERE record_id=?",
                    (payload, json.dumps(public, ensure_ascii=False) if public is not None else None,
                     student_uid, tail, status, status, next_queue_seq(conn), now.isoformat(), record_id))
            conn.execute("DELETE FROM ticket_attempts WHERE ticket=?", (ticket,))
        log.info("bind.ok id=%s by=%s", record_id, "station" if trusted else "phone")
        return BindResponse.model_validate({"record_id": record_id, "status": status})

    def has_ticket(self, ticket_text: str) -> bool:
        """Whether a record holds the ticket (``Problem`` 422 bad-ticket when it is mistyped)."""
        ticket = normalise_typed_ticket(ticket_text)
        with self._db.read() as conn:
            return conn.execute("SELECT 1 FROM records WHERE ticket=?", (ticket,)).fetchone() is not None

    def _check_lock(self, ticket: str, now: datetime) -> None:
        with self._db.read() as conn:
            row = conn.execute("SELECT locked_until FROM ticket_attempts WHERE ticket=?", (ticket,)).fetchone()
        if row is not None and row["locked_until"] is not None and row["locked_until"] > now.timestamp():
            wait = max(1, math.ceil(row["locked_until"] - now.timestamp()))
            log.info("bind.locked")
            raise Problem(429, "too-many-attempts", "too many wrong attempts on this ticket; try later",
                          headers={"Retry-After": str(wait)}, retry_after_s=wait)

    def _miss(self, ticket: str, trusted: bool, now: datetime, record_id: str, why: str) -> None:
        log.info("bind.refused id=%s why=%s by=%s", record_id, why, "station" if trusted else "phone")
        if trusted:
            return
        with self._db.write() as conn:
            row = conn.execute("SELECT misses FROM ticket_attempts WHERE ticket=?", (ticket,)).fetchone()
            misses = (0 if row is None else int(row["misses"])) + 1
            locked_until = None
            if misses >= self._limits.max_misses:
                locked_until = (now + timedelta(minutes=self._limits.lock_minutes)).timestamp()
                misses = 0
                log.warning("bind.ticket_locked id=%s", record_id)
            conn.execute("INSERT INTO ticket_attempts (ticket, misses, locked_until) VALUES (?, ?, ?) "
                         "ON CONFLICT (ticket) DO UPDATE SET misses=excluded.misses, "
                         "locked_until=excluded.locked_until", (ticket, misses, locked_until))

    def _left(self, ticket: str, trusted: bool) -> dict[str, Any]:
        """``attempts_left`` for a phone's refusal (0 when the ticket is now locked)."""
        if trusted:
            return {}
        with self._db.read() as conn:
            row = conn.execute("SELECT misses, locked_until FROM ticket_attempts WHERE ticket=?",
                               (ticket,)).fetchone()
        if row is None:
            return {"attempts_left": self._limits.max_misses}
        if row["locked_until"] is not None and row["misses"] == 0:
            return {"attempts_left": 0}
        return {"attempts_left": self._limits.max_misses - int(row["misses"])}
