#!/usr/bin/env python3
"""Benchmark the collection server under many stations; prints figures, asserts only the data.

Starts real server processes (``kiosk server --workers W``) on SQLite or on a
throw-away PostgreSQL cluster (the test suite's ``initdb`` + ``pg_ctl`` code),
gives each of S simulated stations its own token, and has them upload real
20-40 KB photos concurrently over HTTP, with a status poll of up to 100 of the
station's ids after every 10 uploads and, for every 5th record (codeless, with a
ticket), a bind of a real collection code. Prints records/s, upload p50/p95/p99,
status-poll p95 and bind p95, then checks that the database holds exactly the
records sent, each photo byte-identical (fetched back over HTTP).

``--preload N`` first writes N reviewed records straight into the database
(one shared photo), so the figures are taken with a table of N rows.

Usage:
  python scripts/bench_server.py --stations 10 --records 500 --workers 2 --database postgresql
  python scripts/bench_server.py --matrix --stations 10 50 --records 500   # SQLite 1, PostgreSQL 1 and 2
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from PIL import Image

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from conftest_pg import PgCluster, start_cluster, stop_cluster  # noqa: E402
from server_process import ServerSite  # noqa: E402
from test_server_helpers import BATCH  # noqa: E402

from kiosk import codes, tickets  # noqa: E402

POLL_EVERY = 10
CODELESS_EVERY = 5


def photo_bytes(rng: random.Random) -> bytes:
    """A 480x640 JPEG of 20-40 KB: smooth noise, different every call."""
    small = Image.frombytes("RGB", (24, 32), rng.randbytes(24 * 32 * 3))
    buf = io.BytesIO()
    small.resize((480, 640), Image.Resampling.BICUBIC).save(buf, "JPEG", quality=rng.choice((70, 75, 80)))
    return buf.getvalue()


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile of ``values`` in milliseconds (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


@dataclass
class Figures:
    """Timings gathered by the stations."""

    uploads: list[float] = field(default_factory=list)
    polls: list[float] = field(default_factory=list)
    binds: list[float] = field(default_factory=list)
    sent: dict[str, str] = field(default_factory=dict)  # record id -> photo sha256
    photos: dict[str, bytes] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def station_run(url: str, token: str, name: str, count: int, batch: dict[str, Any], students: list[Any],
                figures: Figures, seed: int) -> None:
    """One station: ``count`` uploads, polls and binds, one after another."""
    rng = random.Random(seed)
    session = requests.Session()
    auth = {"Authorization": f"Bearer {token}"}
    mine: list[str] = []
    for i in range(count):
        photo = photo_bytes(rng)
        record_id = str(uuid.uuid4())
        codeless = bool(students) and i % CODELESS_EVERY == CODELESS_EVERY - 1
        ticket = tickets.new_ticket() if codeless else None
        meta = {"record_id": record_id, "batch": batch["feature_code"], "station_id": name,
                "captured_at": datetime.now(UTC).isoformat(), "monotonic_ns": time.monotonic_ns(),
                "boot_id": name, "codeless": codeless, "ticket": ticket,
                "code_payload": None if codeless else f"KC1.bench.{record_id}", "code": None,
                "id_last4": None if codeless else "123X", "phone": None, "name": None,
                "photo_sha256": hashlib.sha256(photo).hexdigest(), "photo_bytes": len(photo), "original_sha256": None}
        started = time.perf_counter()
        answer = session.put(f"{url}/api/v1/records/{record_id}", headers={**auth, "Idempotency-Key": record_id},
                             files={"metadata": (None, json.dumps(meta), "application/json"),
                                    "photo": ("photo.jpg", photo, "image/jpeg")}, timeout=120)
        took = time.perf_counter() - started
        with figures.lock:
            if answer.status_code in (200, 201):
                figures.uploads.append(took)
                figures.sent[record_id] = meta["photo_sha256"]
                figures.photos[record_id] = photo
            else:
                figures.errors.append(f"upload {answer.status_code} {answer.text[:200]}")
        mine.append(record_id)
        if codeless and students:
            student = students.pop()
            held = answer.json().get("ticket") or ticket
            started = time.perf_counter()
            bound = session.post(f"{url}/api/v1/bind", headers=auth, timeout=120,
                                 json={"ticket": held, "code_payload": student.payload, "id_last4": student.last_four})
            took = time.perf_counter() - started
            with figures.lock:
                figures.binds.append(took)
                if bound.status_code != 200:
                    figures.errors.append(f"bind {bound.status_code} {bound.text[:200]}")
        if i % POLL_EVERY == POLL_EVERY - 1:
            ids = mine[-100:]
            started = time.perf_counter()
            polled = session.post(f"{url}/api/v1/records/status", headers=auth, json={"ids": ids}, timeout=120)
            took = time.perf_counter() - started
            with figures.lock:
                figures.polls.append(took)
                if polled.status_code != 200:
                    figures.errors.append(f"status {polled.status_code}")


def preload(database: str, count: int) -> None:
    """Write ``count`` reviewed records (and a few queued ones) straight into the database."""
    from sqlalchemy import insert

    from kiosk.server.db import Database
    from kiosk.server.tables import records

    db = Database(database)
    now = datetime.now(UTC)
    sha = "0" * 64
    chunk = 5000
    for start in range(0, count, chunk):
        rows = []
        for n in range(start, min(count, start + chunk)):
            queued = n % 100 == 0
            rows.append({
                "record_id": str(uuid.uuid4()), "fingerprint": "preload", "metadata": "{}", "batch": "PRELOAD",
                "station_id": "preload", "uploaded_by": "preload", "captured_at": now.isoformat(),
                "captured_ts": now.timestamp(), "received_at": now.isoformat(), "photo_sha256": sha,
                "photo_bytes": 1, "original_sha256": None, "codeless": 0, "ticket": None, "code_payload": None,
                "code_json": None, "student_uid": None, "id_last4": None,
                "status": "queued" if queued else "approved", "queue_seq": -count + n if queued else None,
                "reason": None, "bound_at": None, "reviewed_at": None})
        with db.write() as conn:
            conn.execute(insert(records), rows)
    db.close()


def verify(url: str, admin: str, database: str, figures: Figures) -> str:
    """Whether the database holds exactly the records sent, photos byte-identical; a line to print."""
    from sqlalchemy import select

    from kiosk.server.db import Database
    from kiosk.server.tables import records

    db = Database(database)
    with db.read() as conn:
        stored = {str(r.record_id): str(r.photo_sha256) for r in conn.execute(
            select(records.c.record_id, records.c.photo_sha256).where(records.c.uploaded_by.like("bench.%")))}
    db.close()
    if stored != figures.sent:
        return f"MISMATCH: {len(stored)} stored, {len(figures.sent)} sent"
    session = requests.Session()
    bad = sum(1 for record_id, photo in figures.photos.items()
              if session.get(f"{url}/api/v1/records/{record_id}/photo", timeout=60,
                             headers={"Authorization": f"Bearer {admin}"}).content != photo)
    return f"ok: {len(stored)} records, photos byte-identical" if not bad else f"MISMATCH: {bad} photos differ"


def run(database: str, workers: int, stations: int, records: int, preload_n: int, blob_store: str,
        root: Path) -> dict[str, Any]:
    """One configuration; its figures."""
    if preload_n:
        preload(database, preload_n)
    site = ServerSite(root, database, settings={"workers": workers, "blob_store": blob_store,
                                                "bind_station_max_misses": 1000})
    try:
        url = site.start()
        admin = {"Authorization": f"Bearer {site.admin_token}"}
        today = date.today()
        batch = replace(BATCH, start_date=(today - timedelta(days=1)).isoformat(),
                        end_date=(today + timedelta(days=1)).isoformat())
        requests.post(f"{url}/api/v1/batches", json=batch.to_json(), headers=admin, timeout=60).raise_for_status()
        codeless = records // stations // CODELESS_EVERY + 1
        pool = codes.demo_codes(site.ring, batch, codeless * stations, now=datetime.now(UTC))
        station_tokens = []
        for s in range(stations):
            answer = requests.post(f"{url}/api/v1/tokens", json={"station_id": f"bench.station-{s:02d}"},
                                   headers=admin, timeout=60)
            answer.raise_for_status()
            station_tokens.append(answer.json()["token"])
        figures = Figures()
        started = time.perf_counter()
        with ThreadPoolExecutor(stations) as ex:
            futures = [ex.submit(station_run, url, station_tokens[s], f"bench.station-{s:02d}",
                                 records // stations, batch.to_json(),
                                 list(pool[s * codeless:(s + 1) * codeless]), figures, s) for s in range(stations)]
            for f in futures:
                f.result()
        seconds = time.perf_counter() - started
        check = verify(url, site.admin_token, database, figures)
    finally:
        site.stop()
    return {"engine": database.split(":", 1)[0], "workers": workers, "stations": stations,
            "records": len(figures.sent), "preloaded": preload_n, "records_s": len(figures.sent) / seconds,
            "up50": pct(figures.uploads, 50), "up95": pct(figures.uploads, 95), "up99": pct(figures.uploads, 99),
            "poll95": pct(figures.polls, 95), "bind95": pct(figures.binds, 95), "errors": len(figures.errors),
            "first_error": figures.errors[0] if figures.errors else "", "check": check}


def show(row: dict[str, Any]) -> None:
    """Print one configuration's figures on one line."""
    print(f"{row['engine']:<10} workers={row['workers']} stations={row['stations']:<3} "
          f"preloaded={row['preloaded']:<8} records={row['records']:<5} {row['records_s']:7.1f} rec/s  "
          f"upload p50/p95/p99 {row['up50']:6.1f}/{row['up95']:6.1f}/{row['up99']:6.1f} ms  "
          f"status p95 {row['poll95']:6.1f} ms  bind p95 {row['bind95']:6.1f} ms  errors={row['errors']}  "
          f"{row['check']} {row['first_error']}", flush=True)


def main() -> int:
    """Run the benchmark (or the SQLite / PostgreSQL 1 / PostgreSQL 2 matrix) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stations", type=int, nargs="+", default=[10])
    parser.add_argument("--records", type=int, default=500, help="records in all, shared by the stations")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database", default="sqlite",
                        help="'sqlite', 'postgresql' (a throw-away cluster) or a postgresql:// URL")
    parser.add_argument("--blob-store", choices=("files", "database"), default="files")
    parser.add_argument("--preload", type=int, default=0, help="records written into the database first")
    parser.add_argument("--matrix", action="store_true", help="SQLite 1 process, PostgreSQL 1 and 2 workers")
    args = parser.parse_args()
    configs = ([("sqlite", 1), ("postgresql", 1), ("postgresql", 2)] if args.matrix
               else [(args.database, args.workers)])
    cluster: PgCluster | None = None
    try:
        for stations in args.stations:
            for engine, workers in configs:
                root = Path(tempfile.mkdtemp(prefix="bench-server-"))
                if engine == "sqlite":
                    database = f"sqlite:///{root / 'data' / 'server.db'}"
                elif engine == "postgresql":
                    cluster = cluster or start_cluster()
                    if cluster is None:
                        raise SystemExit("PostgreSQL is not installed (scripts/setup.sh installs it)")
                    database = cluster.create_database()
                else:
                    database = engine
                show(run(database, workers, stations, args.records, args.preload, args.blob_store, root))
    finally:
        if cluster is not None:
            stop_cluster(cluster)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
