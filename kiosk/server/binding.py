"""Binding a collection code to a codeless record by its claim ticket.

The same call serves the station (with its token) and the student's phone (no
token). Order of checks: the ticket's spelling (its check character), the code
parses for the record's batch (a code that is not even valid for the batch says
nothing about the ticket's secret, so it counts against the caller only), then
one guess is *reserved* and only then are the typed last four compared with the
code's (and, from a phone, the last four typed at the codeless capture with the
code's: see ``Binder._capture_differs``); only after that is the record compared with any code already bound, so a
refusal never tells a guesser more than "no match".

The guess counter is the lock: in one write transaction each subject the guess
counts against (a phone: the ticket and the client address; a station: the
station) is incremented with a single conditional ``UPDATE`` that fails when the
subject is locked, and the increment that reaches the limit sets the lock. So at
most ``max_misses`` guesses per ticket are evaluated per lock period, whatever
the concurrency and however many server processes share the database, and a
late wrong answer writes nothing, so it can never clear a lock. A right answer
clears the ticket's counter and gives the client its guess back. Staff lift a
lock with ``unlock``.

An anonymous caller gets the same answer for a ticket that no record holds as
for wrong last four (the unknown ticket has a counter of its own), so guessing
tells nobody which tickets exist.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, and_, bindparam, case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from kiosk.batch import Batch
from kiosk.config import CodesSection
from kiosk.errors import KioskError
from kiosk.server.batches import BatchBook
from kiosk.server.db import Database
from kiosk.server.records import next_queue_seq, normalise_stored_ticket
from kiosk.server.refusals import Refused
from kiosk.server.schema import BindResponse
from kiosk.server.tables import bind_attempts, records
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
        raise Refused("bad-ticket", "the ticket is mistyped", error=exc, message_key=exc.key,
                      message=exc.bilingual()) from None


@dataclass(frozen=True)
class BindLimits:
    """How many guesses lock a subject, and for how long.

    ``max_misses`` per ticket (phones), ``client_max_misses`` per client address
    (phones; higher, since students behind one campus NAT share an address) and
    ``station_max_misses`` per station token.
    """

    max_misses: int = 5
    lock_minutes: float = 15.0
    client_max_misses: int = 30
    station_max_misses: int = 50


@dataclass(frozen=True)
class _Guesser:
    """Whom a guess counts against: (subject, limit) pairs, and how the caller is named in logs."""

    subjects: tuple[tuple[str, int], ...]
    by: str


class Binder:
    """Binds codes to codeless records."""

    def __init__(self, db: Database, batches: BatchBook, codes: CodeChecker, limits: BindLimits) -> None:
        self._db = db
        self._batches = batches
        self._codes = codes
        self._limits = limits
        # built once (compiled once): every bind runs them
        self._count_guess = _count_guess(db)
        t = bind_attempts
        self._forget_ticket = delete(t).where(t.c.subject == bindparam("ticket"))
        self._give_back = (update(t).where(t.c.subject == bindparam("who"), t.c.locked_until.is_(None), t.c.misses > 0)
                           .values(misses=t.c.misses - 1))

    def bind(self, ticket_text: str, payload: str, id_last4: str, *, trusted: bool, now: datetime,
             client: str = "", station: str | None = None) -> BindResponse:
        """Bind the code ``payload`` to the record holding the ticket.

        ``trusted`` for a station's (or admin's) call, named ``station``;
        ``client`` is the caller's network address (a phone's guesses count against it).
        """
        ticket = normalise_typed_ticket(ticket_text)
        with self._db.read() as conn:
            row = conn.execute(select(records.c.record_id, records.c.batch, records.c.id_last4,
                                      records.c.code_payload).where(records.c.ticket == ticket)).first()
        if row is None and trusted:
            log.info("bind.unknown_ticket by=station station=%s", station or "-")
            raise Refused("unknown-ticket", "no record holds this ticket")
        record_id = str(row.record_id) if row is not None else "-"
        limits = self._limits
        if trusted:
            who = _Guesser(((f"station:{station or '-'}", limits.station_max_misses),), f"station station={station}")
        else:
            who = _Guesser(((f"ticket:{ticket}", limits.max_misses),
                            (f"client:{client or '-'}", limits.client_max_misses)), "phone")
        try:
            code = self._codes.parse(payload, self._batches.recent(row.batch) if row is not None else None, now)
        except CodesUnavailable as exc:
            log.error("bind.codes_unavailable detail=%s", exc.detail)
            raise Refused("codes-unavailable", "collection codes cannot be checked now",
                          retry_after_s=60) from None
        except KioskError as exc:
            # Not a code of this batch: no guess at the ticket's secret, so the ticket's count is untouched.
            left = self._reserve(who.subjects[-1:], now, peek=who.subjects[:-1])
            log.info("bind.refused id=%s why=%s by=%s", record_id, exc.key, who.by)
            raise Refused("bad-code", "the collection code was refused", error=exc, message_key=exc.key,
                          message=exc.bilingual(), **self._left(trusted, left)) from None
        left = self._reserve(who.subjects, now)
        why = self._mismatch(row, code, id_last4, trusted)
        if why:
            log.info("bind.refused id=%s why=%s by=%s left=%d", record_id, why, who.by, left)
            if left == 0:
                log.warning("bind.locked_now id=%s by=%s", record_id, who.by)
            raise Refused("wrong-last-four", "the ticket and the last four do not match",
                          message_key="server.problem.wrong-last-four",
                          message=bilingual("server.problem.wrong-last-four"), **self._left(trusted, left))
        with self._db.write() as conn:
            status = self._bind(conn, record_id, code, payload, id_last4=id_last4, now=now)
            self._forgive(conn, ticket, who)  # in the bind's transaction: both happen, or neither
        log.info("bind.ok id=%s by=%s", record_id, who.by)
        return BindResponse.model_validate({"record_id": record_id, "status": status})

    def _mismatch(self, row: Any, code: Any, id_last4: str, trusted: bool) -> str:
        """Why the ticket, the code and the last four do not belong together ("" when they do)."""
        if row is None:
            return "unknown_ticket"
        if not self._codes.last_four_matches(code, id_last4):
            return "last_four"
        if not trusted and self._capture_differs(row, code):
            return "capture_last_four"
        return ""

    def _capture_differs(self, row: Any, code: Any) -> bool:
        """Whether the last four typed at the codeless capture are not the code's (another student's record).

        A phone has no operator to compare the photo, so it is refused, with the
        same answer as wrong last four (no hint that the ticket exists). This is
        what keeps a ticket two stations made alike from binding the wrong
        record: the server kept it for the first record, and the second
        student, holding the same ticket, types other last four. A station
        compares them itself (its operator may override, audited), so its
        binding is not checked again here.
        """
        captured = row.id_last4
        return row.code_payload is None and bool(captured) and not self._codes.last_four_matches(code, captured)

    def _bind(self, conn: Connection, record_id: str, code: Any, payload: str, *, id_last4: str,
              now: datetime) -> str:
        """Store the code on the record in ``conn``'s transaction; its status.

        Refused when another code is bound or the student is in review.
        """
        student_uid = str(getattr(code, "student_uid", "") or "") or None
        public = code.public_fields() if hasattr(code, "public_fields") else None
        tail = str(getattr(code, "id_tail", "") or id_last4)
        current = conn.execute(select(records.c.status, records.c.student_uid, records.c.code_payload)
                               .where(records.c.record_id == record_id)).first()
        if current is None:  # purged between the look-up and now
            raise Refused("unknown-ticket", "no record holds this ticket")
        if current.code_payload is not None:
            same = (current.student_uid == student_uid) if student_uid and current.student_uid \
                else current.code_payload == payload
            if not same:
                log.info("bind.conflict id=%s", record_id)
                raise Refused("bound-elsewhere", "this ticket is already bound to another code")
            return str(current.status)
        status = "queued" if current.status == "awaiting_code" else str(current.status)
        values: dict[str, Any] = {
            "code_payload": payload, "student_uid": student_uid, "id_last4": tail, "status": status,
            "code_json": json.dumps(public, ensure_ascii=False) if public is not None else None,
            "bound_at": now.isoformat()}
        try:
            with conn.begin_nested():
                if status == "queued":
                    values["queue_seq"] = next_queue_seq(conn)
                done = conn.execute(update(records).where(records.c.record_id == record_id,
                                                          records.c.code_payload.is_(None))
                                    .values(**values).returning(records.c.record_id)).first()
        except IntegrityError:
            log.info("bind.student_in_review id=%s", record_id)
            raise Refused("student-in-review",
                          "this student already has a photo in review for this batch") from None
        if done is None:  # another bind of this ticket got there first; SQLite never gets here
            raise Refused("bound-elsewhere", "this ticket was just bound; look at its status")
        return status

    def _reserve(self, subjects: tuple[tuple[str, int], ...], now: datetime,
                 peek: tuple[tuple[str, int], ...] = ()) -> int:
        """Count one guess against every subject, atomically; the guesses left (0: this was the last).

        Refused with 429 (nothing counted) when any subject is locked. The ``peek``
        subjects are not counted, only included in the guesses left.
        """
        now_ts = now.timestamp()
        lock_ts = (now + timedelta(minutes=self._limits.lock_minutes)).timestamp()
        t = bind_attempts
        left = []
        # one subject (a station's bind) is one statement that commits by itself; a phone's two count together
        with self._db.single() if len(subjects) == 1 and not peek else self._db.write() as conn:
            for subject, limit in subjects:
                row = conn.execute(self._count_guess, {"subject": subject, "limit": limit, "now_ts": now_ts,
                                                       "lock_ts": lock_ts,
                                                       "first_lock": lock_ts if limit <= 1 else None}).first()
                if row is None:
                    until = conn.execute(select(t.c.locked_until).where(t.c.subject == subject)).scalar()
                    wait = max(1, math.ceil(float(until or now_ts) - now_ts))
                    log.info("bind.locked subject=%s", subject.split(":", 1)[0])
                    raise Refused("too-many-attempts", "too many wrong attempts; try later",
                                  retry_after_s=wait)
                left.append(max(0, limit - int(row.misses)))
            for subject, limit in peek:
                seen = conn.execute(select(t.c.misses, t.c.locked_until).where(t.c.subject == subject)).first()
                if seen is not None and seen.locked_until is not None and seen.locked_until > now_ts:
                    left.append(0)
                elif seen is not None and seen.locked_until is None:
                    left.append(max(0, limit - int(seen.misses)))
        return min(left)

    def _forgive(self, conn: Connection, ticket: str, who: _Guesser) -> None:
        """After a right answer: the ticket's count starts again, the caller gets its guess back."""
        conn.execute(self._forget_ticket, {"ticket": f"ticket:{ticket}"})
        conn.execute(self._give_back, {"who": who.subjects[-1][0]})

    def _left(self, trusted: bool, left: int) -> dict[str, Any]:
        """``attempts_left`` for a phone's refusal (0 when the ticket is now locked)."""
        return {} if trusted else {"attempts_left": left}

    def has_ticket(self, ticket_text: str) -> bool:
        """Whether a record holds the ticket (``Refused`` bad-ticket when it is mistyped)."""
        ticket = normalise_typed_ticket(ticket_text)
        with self._db.read() as conn:
            return conn.execute(select(records.c.record_id).where(records.c.ticket == ticket)).first() is not None

    def unlock(self, ticket_text: str) -> bool:
        """Lift the lock (and forget the misses) of a ticket; whether it had any."""
        ticket = normalise_typed_ticket(ticket_text)
        with self._db.write() as conn:
            gone = conn.execute(delete(bind_attempts).where(bind_attempts.c.subject == f"ticket:{ticket}")
                                .returning(bind_attempts.c.subject)).first()
        log.warning("bind.unlocked had_count=%s", gone is not None)
        return gone is not None


def _count_guess(db: Database) -> Any:
    """One guess counted against a subject in one statement: a first guess inserts its row, a later one adds
    to it, a guess after the lock ran out starts again at 1; the limit reached locks the subject until
    ``lock_ts``. No row comes back while the subject is locked (nothing counted).

    Executed with ``subject``, ``limit``, ``now_ts``, ``lock_ts`` and ``first_lock`` (``lock_ts`` when a
    first guess already reaches the limit, else None).
    """
    t = bind_attempts
    now_ts: Any = bindparam("now_ts")
    expired = and_(t.c.locked_until.is_not(None), t.c.locked_until <= now_ts)
    misses = case((expired, 1), else_=t.c.misses + 1)
    maker: Any = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
    first = maker(t).values(subject=bindparam("subject"), misses=1, locked_until=bindparam("first_lock"))
    return first.on_conflict_do_update(
        index_elements=["subject"],
        set_={"misses": misses, "locked_until": case((misses >= bindparam("limit"), bindparam("lock_ts")), else_=None)},
        where=or_(t.c.locked_until.is_(None), expired)).returning(t.c.misses)
