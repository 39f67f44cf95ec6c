#!/usr/bin/env python3
"""Benchmark the collection server under many stations; prints figures, asserts only the data.

Starts real server processes (``kiosk server --workers W``) on SQLite or on a
throw-away PostgreSQL cluster (initdb + pg_ctl, with the durability of a real
one, fsync and synchronous commit on, and 1 GB of shared buffers), gives each of S simulated stations its
own token, and has them upload real 20-40 KB photos concurrently over HTTP, with
a bind of a real collection code for every 5th record and a status poll of up
to 100 of the station's ids after every 10th upload (scripts/bench_server_load.py).
Prints records/s, upload p50/p95/p99, status-poll p95 and bind p95, how the
machine's CPU was spent (clients, server, PostgreSQL, anything else running),
then checks that the database holds exactly the records sent, each photo
byte-identical (fetched back over HTTP and hashed).

The stations run in several client processes with every photo made before the
clock starts, so the client is not what is measured; its CPU share is printed.
``--rate`` paces the stations (records/s in all, latency counted from when each
upload was due); without it they send as fast as the server answers, so
records/s is the capacity and the latencies are mostly time waiting in line
(50 stations always waiting for an answer: latency = 50 / requests per second).

``--preload N`` first writes N records into the database, spread as a year of
collection leaves them, with a review queue of ``--queued`` records
(scripts/bench_server_preload.py); ``--compare-preload 10000 1000000`` measures
the same configuration at each size and prints the figures side by side with
their ratio; ``--explain`` prints the plans of the status poll's queries after
the preload.

The runs that judge the targets (about 10 minutes together on a quiet 2-core machine):

  # SQLite 1 process vs PostgreSQL 1 and 2 workers, 10 and 50 stations, as fast as they answer
  python scripts/bench_server.py --matrix --stations 10 50 --records 2000
  # the same at the target load, 300 records/s offered: latencies at that rate
  python scripts/bench_server.py --matrix --stations 50 --records 3000 --rate 300
  # 10,000 vs 1,000,000 stored records, PostgreSQL 2 workers, 50 stations at 300 records/s
  python scripts/bench_server.py --compare-preload 10000 1000000 --database postgresql --workers 2 \\
      --stations 50 --records 3000 --rate 300 --explain

Other uses:
  python scripts/bench_server.py --stations 10 --records 500 --workers 2 --database postgresql
  python scripts/bench_server.py --database postgresql://kiosk@db.internal/kiosk_bench --workers 4
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from bench_server_load import CODELESS_EVERY, CpuMeter, StationPlan, run_load  # noqa: E402
from bench_server_preload import explain, preload  # noqa: E402
from conftest_pg import PgCluster, start_cluster, stop_cluster  # noqa: E402
from server_process import ServerSite  # noqa: E402
from test_server_helpers import BATCH  # noqa: E402

from kiosk import codes  # noqa: E402


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile of ``values`` in milliseconds (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def verify(url: str, admin: str, database: str, sent: dict[str, str]) -> str:
    """Whether the database holds exactly the records sent, photos byte-identical; a line to print."""
    from sqlalchemy import select

    from kiosk.server.db import Database
    from kiosk.server.tables import records

    db = Database(database)
    with db.read() as conn:
        stored = {str(r.record_id): str(r.photo_sha256) for r in conn.execute(
            select(records.c.record_id, records.c.photo_sha256).where(records.c.uploaded_by.like("bench.%")))}
    db.close()
    if stored != sent:
        return f"MISMATCH: {len(stored)} stored, {len(sent)} sent"
    session = requests.Session()
    bad = sum(1 for record_id, sha in sent.items()
              if hashlib.sha256(session.get(f"{url}/api/v1/records/{record_id}/photo", timeout=60,
                                            headers={"Authorization": f"Bearer {admin}"}).content).hexdigest() != sha)
    return f"ok: {len(stored)} records, photos byte-identical" if not bad else f"MISMATCH: {bad} photos differ"


def postmaster_pid(cluster: PgCluster | None) -> list[int]:
    """The cluster's postmaster (its backends are its children), when the cluster is ours."""
    if cluster is None:
        return []
    try:
        return [int((cluster.root / "data" / "postmaster.pid").read_text().split()[0])]
    except (OSError, ValueError, IndexError):
        return []


def run(database: str, workers: int, stations: int, records: int, *, preload_n: int, queued: int, rate: float,
        clients: int, blob_store: str, root: Path, cluster: PgCluster | None, show_plans: bool) -> dict[str, Any]:
    """One configuration; its figures."""
    loaded = preload(database, preload_n, min(queued, preload_n)) if preload_n else 0.0
    if preload_n:
        print(f"  preloaded {preload_n} records ({min(queued, preload_n)} queued) in {loaded:.0f} s", flush=True)
        if show_plans:
            print(explain(database), flush=True)
    today = date.today()
    # in the batches file, which every worker loads as it starts: a batch posted to the first
    # worker would be overwritten by a worker starting later
    batch = replace(BATCH, start_date=(today - timedelta(days=1)).isoformat(),
                    end_date=(today + timedelta(days=1)).isoformat())
    site = ServerSite(root, database, settings={"workers": workers, "blob_store": blob_store,
                                                "bind_station_max_misses": 10_000,
                                                "bind_rate_per_minute_station": 100_000}, batch=batch)
    try:
        url = site.start()
        admin = {"Authorization": f"Bearer {site.admin_token}"}
        per_station = records // stations
        codeless = per_station // CODELESS_EVERY + 1
        pool = [(s.payload, s.last_four) for s in
                codes.demo_codes(site.ring, batch, codeless * stations, now=datetime.now(UTC))]
        plans = []
        for s in range(stations):
            name = f"bench.station-{s:02d}"
            answer = requests.post(f"{url}/api/v1/tokens", json={"station_id": name}, headers=admin, timeout=60)
            answer.raise_for_status()
            plans.append(StationPlan(name, answer.json()["token"], per_station,
                                     tuple(pool[s * codeless:(s + 1) * codeless]), seed=s))
        meter = CpuMeter(roots={"server": [p.pid for p in site.processes], "postgres": postmaster_pid(cluster)})
        figures, seconds, cpu = run_load(url, plans, batch.feature_code, clients=min(clients, stations), rate=rate,
                                         meter=meter)
        check = verify(url, site.admin_token, database, figures.sent)
    finally:
        site.stop()
    return {"engine": database.split(":", 1)[0], "workers": workers, "stations": stations, "rate": rate,
            "records": len(figures.sent), "preloaded": preload_n, "records_s": len(figures.sent) / seconds,
            "up50": pct(figures.uploads, 50), "up95": pct(figures.uploads, 95), "up99": pct(figures.uploads, 99),
            "poll95": pct(figures.polls, 95), "bind95": pct(figures.binds, 95), "errors": len(figures.errors),
            "first_error": figures.errors[0] if figures.errors else "", "check": check, "seconds": seconds,
            "cpu": cpu}


def show(row: dict[str, Any]) -> None:
    """Print one configuration's figures, and its CPU use, on two lines."""
    rate = f"rate={row['rate']:g}/s" if row["rate"] else "closed loop"
    print(f"{row['engine']:<10} workers={row['workers']} stations={row['stations']:<3} {rate:<12} "
          f"preloaded={row['preloaded']:<8} records={row['records']:<5} {row['records_s']:7.1f} rec/s  "
          f"upload p50/p95/p99 {row['up50']:6.1f}/{row['up95']:6.1f}/{row['up99']:6.1f} ms  "
          f"status p95 {row['poll95']:6.1f} ms  bind p95 {row['bind95']:6.1f} ms  errors={row['errors']}  "
          f"{row['check']} {row['first_error']}", flush=True)
    cpu, wall = row["cpu"], row["seconds"]
    if cpu.get("machine_all"):
        cores = cpu["machine_all"] / wall
        busy = cpu["machine_busy"]
        other = max(0.0, busy - cpu["clients"] - cpu["server"] - cpu["postgres"])
        print(f"  {wall:.1f} s; CPU of {cores:.0f} cores, in cores busy: clients {cpu['clients'] / wall:.2f}, "
              f"server {cpu['server'] / wall:.2f}, postgres {cpu['postgres'] / wall:.2f}, "
              f"other processes {other / wall:.2f}, idle {(cpu['machine_all'] - busy) / wall:.2f}", flush=True)
        per = 1000 / max(1, row["records"])
        # CPU per record is the steadier figure on a busy machine: it does not count time waiting for a core
        print(f"  CPU per record (with its share of binds and polls): server {cpu['server'] * per:.1f} ms, "
              f"postgres {cpu['postgres'] * per:.1f} ms, clients {cpu['clients'] * per:.1f} ms", flush=True)


def compare(small: dict[str, Any], large: dict[str, Any]) -> None:
    """Print the figures at two table sizes side by side, with how much worse the larger one is."""
    print(f"\n{'figure':<22}{small['preloaded']:>12,}{large['preloaded']:>12,}   worse by")
    for key, title, higher_better in (("records_s", "records/s", True), ("up50", "upload p50 ms", False),
                                      ("up95", "upload p95 ms", False), ("up99", "upload p99 ms", False),
                                      ("poll95", "status p95 ms", False), ("bind95", "bind p95 ms", False)):
        a, b = small[key], large[key]
        worse = (a / b if higher_better else b / a) if a and b else float("nan")
        print(f"{title:<22}{a:>12.1f}{b:>12.1f}   {worse:5.2f}x {'ok' if worse <= 2 else 'OVER 2x'}")


def database_for(engine: str, root: Path, cluster: PgCluster | None) -> tuple[str, PgCluster | None]:
    """The database URL of one run (a fresh SQLite file or PostgreSQL database), and the cluster."""
    if engine == "sqlite":
        return f"sqlite:///{root / 'data' / 'server.db'}", cluster
    if engine == "postgresql":
        cluster = cluster or start_cluster(durable=True)
        if cluster is None:
            raise SystemExit("PostgreSQL is not installed (scripts/setup.sh installs it)")
        return cluster.create_database(), cluster
    return engine, cluster


def main() -> int:
    """Run the benchmark (a configuration, the matrix, or the preload comparison) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stations", type=int, nargs="+", default=[10])
    parser.add_argument("--records", type=int, default=500, help="records in all, shared by the stations")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database", default="sqlite",
                        help="'sqlite', 'postgresql' (a throw-away cluster) or a postgresql:// URL")
    parser.add_argument("--blob-store", choices=("files", "database"), default="files")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="records/s offered by all stations together (0: as fast as the server answers)")
    parser.add_argument("--clients", type=int, default=4, help="client processes the stations are spread over")
    parser.add_argument("--preload", type=int, default=0, help="records written into the database first")
    parser.add_argument("--queued", type=int, default=2000, help="of the preloaded records, how many are queued")
    parser.add_argument("--compare-preload", type=int, nargs=2, metavar=("SMALL", "LARGE"),
                        help="run at both table sizes and print the figures side by side")
    parser.add_argument("--explain", action="store_true", help="print the status poll's plans after a preload")
    parser.add_argument("--matrix", action="store_true", help="SQLite 1 process, PostgreSQL 1 and 2 workers")
    args = parser.parse_args()
    configs = ([("sqlite", 1), ("postgresql", 1), ("postgresql", 2)] if args.matrix
               else [(args.database, args.workers)])
    sizes = args.compare_preload or [args.preload]
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    cluster: PgCluster | None = None
    try:
        for stations in args.stations:
            for engine, workers in configs:
                rows = []
                for size in sizes:
                    root = Path(tempfile.mkdtemp(prefix="bench-server-"))
                    database, cluster = database_for(engine, root, cluster)
                    rows.append(run(database, workers, stations, args.records, preload_n=size, queued=args.queued,
                                    rate=args.rate, clients=args.clients, blob_store=args.blob_store, root=root,
                                    cluster=cluster, show_plans=args.explain))
                    show(rows[-1])
                    if cluster is not None and database.startswith("postgresql") and engine == "postgresql":
                        cluster.drop_database(database)
                    shutil.rmtree(root, ignore_errors=True)  # the run's photos, SQLite file and logs
                    time.sleep(1)
                if len(rows) == 2:
                    compare(rows[0], rows[1])
    finally:
        if cluster is not None:
            stop_cluster(cluster)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
