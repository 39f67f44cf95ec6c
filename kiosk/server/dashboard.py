"""The coordinator's view of a batch: records by state, throughput per hour, stations, help requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, union

from kiosk.server import tables as t
from kiosk.server.console_schema import Dashboard, HourRow
from kiosk.server.db import Database
from kiosk.server.station_board import StationBoard

#: the states counted on the dashboard, in the order shown
STATES = ("on_stations", "awaiting_code", "queued", "approved", "rejected", "confirmed")
#: hours shown in the throughput table (the current one included)
HOURS = 12


def batch_codes(db: Database) -> list[str]:
    """Every batch known, as set up or as seen on records, in code order."""
    with db.read() as conn:
        codes = conn.execute(union(select(t.batches.c.feature_code), select(t.records.c.batch))).scalars()
        return sorted(set(codes))


def board(db: Database, stations: StationBoard, batch: str | None, now: datetime, silent_s: float) -> Dashboard:
    """The dashboard of ``batch`` at ``now`` (when unknown: the batch that last received a record).

    Throughput: one row per hour, newest first, back at most ``HOURS`` hours and no further than the
    oldest hour in which a record arrived or was decided.
    """
    codes = batch_codes(db)
    if batch not in codes:
        batch = _busiest(db) or (codes[0] if codes else None)
    station_rows = stations.stations(now, silent_s)
    counts = dict.fromkeys(STATES, 0)
    # A station's queue is not split by batch: it counts toward the batch being watched.
    counts["on_stations"] = sum(s.queue_length for s in station_rows if not s.silent)
    hour0 = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)
    received = dict.fromkeys(range(HOURS), 0)
    decided = dict.fromkeys(range(HOURS), 0)
    if batch is not None:
        r, a = t.records, t.review_audit
        with db.read() as conn:
            for status, n in conn.execute(select(r.c.status, func.count()).where(r.c.batch == batch)
                                          .group_by(r.c.status)).all():
                if status in counts:
                    counts[status] = int(n)
            for (at,) in conn.execute(select(r.c.received_at).where(r.c.batch == batch,
                                                                      r.c.received_at >= hour0.isoformat())).all():
                slot = _slot(datetime.fromisoformat(at), hour0)
                if slot is not None:
                    received[slot] += 1
            for (ts,) in conn.execute(select(a.c.at_ts).where(a.c.batch == batch, a.c.at_ts >= hour0.timestamp())):
                slot = _slot(datetime.fromtimestamp(ts, UTC), hour0)
                if slot is not None:
                    decided[slot] += 1
    rows = [HourRow(hour=(hour0 + timedelta(hours=i)).isoformat(), received=received[i], decided=decided[i])
            for i in reversed(range(HOURS))]
    # the hours before the batch's first record here are empty rows, not news: shown from the first busy one
    while len(rows) > 1 and rows[-1].received == 0 and rows[-1].decided == 0:
        rows.pop()
    return Dashboard(batch=batch, batches=codes, counts=counts, throughput=rows, stations=station_rows,
                     help=stations.open_help(), generated_at=now.isoformat())


def _busiest(db: Database) -> str | None:
    r = t.records
    with db.read() as conn:
        return conn.execute(select(r.c.batch).order_by(r.c.received_at.desc()).limit(1)).scalar_one_or_none()


def _slot(at: datetime, hour0: datetime) -> int | None:
    slot = int((at.astimezone(UTC) - hour0).total_seconds() // 3600)
    return slot if 0 <= slot < HOURS else None
