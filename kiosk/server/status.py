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
JSON directly, without models.

A poll is handed to a thread once, and its token is checked in the same
statement that reads its statuses (the edge leaves this route's token alone),
on threads of its own (``STATUS_THREADS``), so a poll never waits for a worker
thread behind uploads; they take their connections from the same pool, within
its overflow. Each hand-over to a thread, and each answer from the database,
costs a wait for the interpreter's lock while uploads keep it busy: under load
those waits, not the database, were most of a poll's time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from anyio import CapacityLimiter

from kiosk.server.auth import hash_token, is_admin
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
#: the station of a live token (as kiosk/server/auth.py looks it up), and the records asked for
_CALLER = "caller AS (SELECT station_id FROM tokens WHERE token_sha256 = {sha} AND revoked_at IS NULL)"
_ASKED = "asked AS (SELECT record_id, status, reason, queue_seq FROM records WHERE record_id {ids}{mine})"


def _statements(ids: str, param: str) -> tuple[str, str, str]:
    """(any station's records, one station's, the token holder's) in one dialect's parameter style.

    The token holder's statement answers the token's station first, as a row with no
    status (none if the token is not live), then that station's records.
    """
    anyone = "WITH " + _ASKED.format(ids=ids, mine="") + _PLACES
    one = "WITH " + _ASKED.format(ids=ids, mine=f" AND uploaded_by = {param.format('station')}") + _PLACES
    holder = ("WITH " + _CALLER.format(sha=param.format("sha")) + ", "
              + _ASKED.format(ids=ids, mine=" AND uploaded_by = (SELECT station_id FROM caller)")
              + " SELECT station_id, NULL, NULL, NULL FROM caller UNION ALL" + _PLACES)
    return anyone, one, holder


#: per dialect, the ids one parameter either way (an array; a JSON list on SQLite)
_SQL = {
    "postgresql": _statements("= ANY(%(ids)s::text[])", "%({})s"),
    "sqlite": _statements("IN (SELECT value FROM json_each(:ids))", ":{}"),
}
#: a record's status, reason and queue place (None when not queued)
Found = tuple[str, str | None, int | None]


def _params(db: Database, ids: Sequence[str], **more: str) -> dict[str, Any]:
    return {"ids": list(ids) if db.dialect == "postgresql" else json.dumps(list(ids)), **more}


def _found(rows: Sequence[Any]) -> dict[str, Found]:
    return {str(r[0]): (str(r[1]), r[2], None if r[3] is None else int(r[3])) for r in rows if r[1] is not None}


def stored_statuses(db: Database, ids: Sequence[str], station: str | None = None) -> dict[str, Found]:
    """``record_id -> (status, reason, queue place or None)`` of those of ``ids`` that are stored.

    With ``station``, only that station's records (another's are left out, as if unknown).
    """
    if not ids:
        return {}
    anyone, one, _ = _SQL[db.dialect]
    with db.read() as conn:
        if station is None:
            return _found(conn.exec_driver_sql(anyone, _params(db, ids)).all())
        return _found(conn.exec_driver_sql(one, _params(db, ids, station=station)).all())


def statuses_for_token(db: Database, token: str, ids: Sequence[str]) -> dict[str, Found] | None:
    """``stored_statuses`` of the station whose live token is ``token``, checked in the same
    statement; None when the token is not a live station token."""
    _, _, holder = _SQL[db.dialect]
    with db.read() as conn:
        rows = conn.exec_driver_sql(holder, _params(db, ids, sha=hash_token(token))).all()
    if not any(r[1] is None for r in rows):
        return None
    return _found(rows)


class StatusReader:
    """The status call's answers, on threads of their own."""

    def __init__(self, db: Database, admin_token: str) -> None:
        self._db = db
        self._admin_token = admin_token
        #: the threads polls run on (anyio's, limited to ``STATUS_THREADS`` at once)
        self.limiter = CapacityLimiter(STATUS_THREADS)

    def answer(self, token: str, ids: Sequence[str]) -> bytes:
        """The JSON body of the status call by the holder of ``token``: ``{"records": [...]}``, one
        entry per id in the order given; ``Refused`` ("unauthorized") for a token not valid.

        Each entry is ``{"record_id", "status", "queue_position", "reason"}`` ("unknown",
        null, null for an id not stored, or another station's; the admin token sees every
        station's), written as the API's schema (``StatusResponse``) would write it.
        """
        if is_admin(token, self._admin_token):
            found: dict[str, Found] | None = stored_statuses(self._db, ids)
        else:
            found = statuses_for_token(self._db, token, ids)
        if found is None:
            log.info("auth.refused")
            raise Refused("unauthorized", "the token is not valid or was revoked")
        out = []
        for record_id in ids:
            status, reason, place = found.get(record_id, ("unknown", None, None))
            out.append({"record_id": record_id, "status": status, "queue_position": place, "reason": reason})
        return json.dumps({"records": out}, ensure_ascii=False, separators=(",", ":")).encode()
