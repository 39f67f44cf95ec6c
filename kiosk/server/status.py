"""The review status and queue place of many records at once: what stations poll for.

A station asks, every few uploads, for the status of up to 100 (at most 1000)
of its records (``POST /api/v1/records/status``). The answer is one statement
on one connection: the records by primary key, and the queue places of the
queued ones by ranking the queue index ``records_queue (status, queue_seq)`` up
to the last of them. Its cost grows with the ids asked for and the review
queue's length, never with the records stored over the year.

The statement is plain SQL run by the driver (no statement building per poll),
with the ids as one array parameter on PostgreSQL (one short statement text,
which the driver prepares once per connection), and the answer is written as
JSON directly: a poll costs a fraction of a millisecond of Python.

A poll is handed to a thread once: its token is checked there, then its
statuses read (the edge leaves this route's token alone), on threads of its own
(``STATUS_THREADS``), so a poll never waits for a worker thread behind uploads;
they take their connections from the same pool, within its overflow. Each
hand-over costs a wait for the interpreter's lock while uploads keep it busy:
that wait, not the database, was most of a poll's time under load.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from anyio import CapacityLimiter

from kiosk.server.callers import ADMIN
from kiosk.server.db import Database
from kiosk.server.refusals import Refused

log = logging.getLogger(__name__)

#: threads that answer status polls (and check their tokens) beside the route threads; each holds a
#: pool connection while it reads, within the pool's overflow (kiosk/server/db.py)
STATUS_THREADS = 4

#: the places of the queued records among ``asked``: the queue index ranked up to the last of them
_PLACES = """
    SELECT a.record_id, a.status, a.reason, r.place
    FROM asked a
    LEFT JOIN (
        SELECT queue_seq, row_number() OVER (ORDER BY queue_seq) AS place
        FROM records
        WHERE status = 'queued'
          AND queue_seq <= (SELECT max(queue_seq) FROM asked WHERE status = 'queued')
    ) r ON a.status = 'queued' AND r.queue_seq = a.queue_seq
"""
_ASKED = "WITH asked AS (SELECT record_id, status, reason, queue_seq FROM records WHERE {where})"
#: per dialect: (any station's records, one station's), the ids one parameter either way
_SQL = {
    "postgresql": (_ASKED.format(where="record_id = ANY(%(ids)s::text[])") + _PLACES,
                   _ASKED.format(where="record_id = ANY(%(ids)s::text[]) AND uploaded_by = %(station)s") + _PLACES),
    "sqlite": (_ASKED.format(where="record_id IN (SELECT value FROM json_each(:ids))") + _PLACES,
               _ASKED.format(where="record_id IN (SELECT value FROM json_each(:ids)) AND uploaded_by = :station")
               + _PLACES),
}


def stored_statuses(db: Database, ids: Sequence[str],
                    station: str | None = None) -> dict[str, tuple[str, str | None, int | None]]:
    """``record_id -> (status, reason, queue place or None)`` of those of ``ids`` that are stored.

    With ``station``, only that station's records (another's are left out, as if unknown).
    """
    if not ids:
        return {}
    text, by_station = _SQL[db.dialect]
    params: dict[str, Any] = {"ids": list(ids) if db.dialect == "postgresql" else json.dumps(list(ids))}
    if station is not None:
        params["station"] = station
    with db.read() as conn:
        found = conn.exec_driver_sql(by_station if station is not None else text, params).all()
    return {str(r[0]): (str(r[1]), r[2], None if r[3] is None else int(r[3])) for r in found}


class StatusReader:
    """The status call's answers, on threads of their own."""

    def __init__(self, db: Database, caller: Callable[[str], str | None]) -> None:
        self._db = db
        #: the station a bearer token belongs to ("admin" for the admin token), or None
        self._caller = caller
        #: the threads polls run on (anyio's, limited to ``STATUS_THREADS`` at once)
        self.limiter = CapacityLimiter(STATUS_THREADS)

    def answer(self, token: str, ids: Sequence[str]) -> bytes:
        """The JSON body of the status call by the holder of ``token``: ``{"records": [...]}``, one
        entry per id in the order given; ``Refused`` ("unauthorized") for a token not valid.

        Each entry is ``{"record_id", "status", "queue_position", "reason"}`` ("unknown",
        null, null for an id not stored, or another station's; the admin token sees every
        station's), written as the API's schema (``StatusResponse``) would write it.
        """
        who = self._caller(token)
        if who is None:
            log.info("auth.refused")
            raise Refused("unauthorized", "the token is not valid or was revoked")
        found = stored_statuses(self._db, ids, None if who == ADMIN else who)
        out = []
        for record_id in ids:
            status, reason, place = found.get(record_id, ("unknown", None, None))
            out.append({"record_id": record_id, "status": status, "queue_position": place, "reason": reason})
        return json.dumps({"records": out}, ensure_ascii=False, separators=(",", ":")).encode()
