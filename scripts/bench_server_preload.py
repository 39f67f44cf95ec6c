"""Fill the server's records table for the benchmark: N records as a year of collection leaves them.

The rows are spread the way a season spreads them: a batch per 5,000 records, 40
campuses of 8 stations, capture times over a year, one record in five codeless
with a ticket (a few never bound), half with a status link, and statuses as
review leaves them (mostly confirmed or approved, some rejected, a few
duplicates). Every reviewed record keeps the queue number it had. The review
queue itself holds the last ``queued`` records: what reviewers have not reached
yet, which does not grow with the records stored over the year (a queue of a
million would mean nobody reviewed anything).

PostgreSQL makes the rows itself (one ``INSERT ... SELECT FROM generate_series``,
the same spread; its secondary indexes built after), then
``VACUUM (ANALYZE)``: what autovacuum would have done over the year (left to
itself it would run during the measurement). SQLite is filled with
``executemany`` in large transactions, then ``ANALYZE``.
``explain`` prints the plan of the status poll's statement, as a station's token runs it.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from kiosk.server.db import Database
from kiosk.server.tables import records

PER_BATCH = 5000
CHUNK = 50_000


def rows(count: int, queued: int, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """The ``count`` rows, in the column order of the ``records`` table."""
    rng = random.Random(seed)
    columns = [c.name for c in records.columns]
    now = datetime.now(UTC)
    year = timedelta(days=365).total_seconds()
    first_queued = count - queued
    for n in range(count):
        captured = now - timedelta(seconds=year * (count - n) / max(1, count))
        record_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        batch = f"P{n // PER_BATCH:05d}"
        station = f"campus-{(n // PER_BATCH) % 40:02d}.station-{n % 8:02d}"
        codeless = n % 5 == 4
        unbound = codeless and n % 25 == 24
        kind = n % 100
        if unbound:
            status, seq = "awaiting_code", None
        else:
            seq = n - count - 1  # before every number the server hands out
            if n >= first_queued:
                status = "queued"
            else:
                status = ("duplicate" if kind < 2 else "rejected" if kind < 10
                          else "approved" if kind < 40 else "confirmed")
        code_payload = None if unbound else f"KC1.preload.{record_id}"
        meta = json.dumps({"record_id": record_id, "batch": batch, "station_id": station,
                           "captured_at": captured.isoformat(), "codeless": codeless,
                           "photo_sha256": f"{n:064x}", "photo_bytes": 31000 + n % 9000,
                           "code_payload": code_payload, "id_last4": None if codeless else "123X",
                           "measurements": {"head_top": 0.12, "eye_line": 0.45, "face_width": 0.52}})
        value = {
            "record_id": record_id, "fingerprint": hashlib.sha256(meta.encode()).hexdigest(), "metadata": meta,
            "batch": batch, "station_id": station, "uploaded_by": station, "captured_at": captured.isoformat(),
            "captured_ts": captured.timestamp(), "received_at": captured.isoformat(),
            "photo_sha256": hashlib.sha256(record_id.encode()).hexdigest(), "photo_bytes": 31000 + n % 9000,
            "original_sha256": None, "codeless": int(codeless), "ticket": f"P{n:08d}" if codeless else None,
            "code_payload": code_payload, "code_json": None, "student_uid": None if unbound else f"S{n:08d}",
            "id_last4": None if codeless else "123X", "status": status, "queue_seq": seq,
            "reason": "背景不是纯色" if status == "rejected" else None,
            "bound_at": captured.isoformat() if codeless and not unbound else None,
            "reviewed_at": None if status in ("queued", "awaiting_code") else captured.isoformat(),
            "reviewed_by": None if status in ("queued", "awaiting_code") else "reviewer-1",
            "status_secret_sha256": hashlib.sha256(record_id.encode() + b"s").hexdigest() if n % 2 else None,
        }
        yield tuple(value.get(c) for c in columns)


#: the same rows made by PostgreSQL itself (``generate_series``: no row crosses the socket);
#: each ``OFFSET 0`` keeps its subquery from being folded into the one above, which would copy (and compute
#: again) its expressions at every use
_GENERATE = f"""
INSERT INTO records (record_id, fingerprint, metadata, batch, station_id, uploaded_by, captured_at, captured_ts,
                     received_at, photo_sha256, photo_bytes, original_sha256, codeless, ticket, code_payload,
                     code_json, student_uid, id_last4, status, queue_seq, reason, bound_at, reviewed_at,
                     reviewed_by, status_secret_sha256)
SELECT record_id, encode(sha256(convert_to(meta, 'UTF8')), 'hex'), meta, batch, station, station, captured, ts,
       captured, encode(sha256(convert_to(record_id, 'UTF8')), 'hex'), 31000 + n %% 9000, NULL, codeless::int,
       CASE WHEN codeless THEN 'P' || lpad(n::text, 8, '0') END, code_payload, NULL,
       CASE WHEN NOT unbound THEN 'S' || lpad(n::text, 8, '0') END, CASE WHEN NOT codeless THEN '123X' END,
       status, CASE WHEN NOT unbound THEN n - %(count)s - 1 END,
       CASE WHEN status = 'rejected' THEN '背景不是纯色' END,
       CASE WHEN codeless AND NOT unbound THEN captured END,
       CASE WHEN status NOT IN ('queued', 'awaiting_code') THEN captured END,
       CASE WHEN status NOT IN ('queued', 'awaiting_code') THEN 'reviewer-1' END,
       CASE WHEN n %% 2 = 1 THEN encode(sha256(convert_to(record_id || 's', 'UTF8')), 'hex') END
FROM (
    SELECT *,
           CASE WHEN unbound THEN 'awaiting_code' WHEN n >= %(first_queued)s THEN 'queued'
                WHEN n %% 100 < 2 THEN 'duplicate' WHEN n %% 100 < 10 THEN 'rejected'
                WHEN n %% 100 < 40 THEN 'approved' ELSE 'confirmed' END AS status,
           json_build_object('record_id', record_id, 'batch', batch, 'station_id', station,
                             'captured_at', captured, 'codeless', codeless,
                             'photo_sha256', lpad(to_hex(n), 64, '0'), 'photo_bytes', 31000 + n %% 9000,
                             'code_payload', code_payload, 'id_last4', CASE WHEN NOT codeless THEN '123X' END,
                             'measurements', json_build_object('head_top', 0.12, 'eye_line', 0.45,
                                                               'face_width', 0.52))::text AS meta
    FROM (
        SELECT *, CASE WHEN NOT unbound THEN 'KC1.preload.' || record_id END AS code_payload,
               to_char(to_timestamp(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00' AS captured
        FROM (
            SELECT n, gen_random_uuid()::text AS record_id,
                   'P' || lpad((n / {PER_BATCH})::text, 5, '0') AS batch,
                   'campus-' || lpad((n / {PER_BATCH} %% 40)::text, 2, '0')
                       || '.station-' || lpad((n %% 8)::text, 2, '0') AS station,
                   n %% 5 = 4 AS codeless, n %% 25 = 24 AS unbound,
                   extract(epoch FROM now())::float8 - 31536000.0 * (%(count)s - n) / %(count)s AS ts
            FROM generate_series(0, %(count)s - 1) AS n OFFSET 0
        ) numbered OFFSET 0
    ) dated OFFSET 0
) made
"""


def preload(database: str, count: int, queued: int) -> float:
    """Write the ``count`` rows (``queued`` of them in the review queue) into ``database``; seconds taken."""
    started = time.perf_counter()
    Database(database).close()  # the schema, migrated
    columns = [c.name for c in records.columns]
    if database.startswith("postgresql"):
        import psycopg
        from sqlalchemy import create_engine

        # the secondary indexes are dropped for the load and built again after it, from the
        # schema's own definitions (the usual bulk load: a sort per index, not a million inserts)
        engine = create_engine(database.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as sa:
            for index in records.indexes:
                index.drop(sa)
        with psycopg.connect(database) as conn:
            conn.execute(_GENERATE, {"count": count, "first_queued": count - queued})
            conn.commit()
        with engine.begin() as sa:
            sa.exec_driver_sql("SET maintenance_work_mem = '256MB'")
            for index in records.indexes:
                index.create(sa)
        engine.dispose()
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE) records")
    else:
        path = database.removeprefix("sqlite:///")
        lite = sqlite3.connect(path, isolation_level=None)
        try:
            sql = f"INSERT INTO records ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            chunk: list[tuple[Any, ...]] = []
            for row in rows(count, queued):
                chunk.append(row)
                if len(chunk) == CHUNK:
                    _sqlite_chunk(lite, sql, chunk)
            _sqlite_chunk(lite, sql, chunk)
            lite.execute("ANALYZE")
        finally:
            lite.close()
    return time.perf_counter() - started


def _sqlite_chunk(conn: sqlite3.Connection, sql: str, chunk: list[tuple[Any, ...]]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(sql, chunk)
    conn.execute("COMMIT")
    chunk.clear()


def explain(database: str) -> str:
    """The plan of the status poll's statement for 100 queued records, run as the server runs it."""
    from sqlalchemy import event

    from kiosk.server.auth import StationTokens
    from kiosk.server.status import statuses_for_token

    db = Database(database)
    seen: list[tuple[str, Any]] = []
    try:
        with db.read() as conn:
            station, = conn.exec_driver_sql(
                "SELECT uploaded_by FROM records WHERE status = 'queued' ORDER BY queue_seq DESC LIMIT 1").one()
            ids = [str(r) for r in conn.exec_driver_sql(
                f"SELECT record_id FROM records WHERE uploaded_by = '{station}' AND status = 'queued' "
                "ORDER BY queue_seq DESC LIMIT 100").scalars()]

        def note(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            seen.append((statement, parameters))

        token = StationTokens(db).issue(station, datetime.now(UTC), rotate=True)
        statuses_for_token(db, token, ids)  # the first run prepares; the second is the one shown
        event.listen(db.engine, "before_cursor_execute", note)
        started = time.perf_counter()
        statuses_for_token(db, token, ids)
        took = (time.perf_counter() - started) * 1000
        event.remove(db.engine, "before_cursor_execute", note)
        word = "EXPLAIN ANALYZE" if db.dialect == "postgresql" else "EXPLAIN QUERY PLAN"
        out = [f"-- status of {len(ids)} queued records of one station: {took:.1f} ms, {len(seen)} statements"]
        with db.read() as conn:
            for statement, parameters in seen:
                if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    continue
                plan = conn.exec_driver_sql(f"{word} {statement}", parameters).all()
                out.append(" ".join(statement.split())[:160] + " ...")
                out += ["    " + _shortened(" ".join(str(c) for c in r)) for r in plan]
        return "\n".join(out)
    finally:
        db.close()


def _shortened(line: str, width: int = 150) -> str:
    """A plan line without the hundred ids of its ``ANY (...)`` list."""
    return line if len(line) <= width else line[:width] + " ..."
