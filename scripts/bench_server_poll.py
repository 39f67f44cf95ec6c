#!/usr/bin/env python3
"""Benchmark the stations' status poll (``POST /api/v1/records/status``, 100 ids) at table sizes.

For each size it writes the records (scripts/bench_server_preload.py) into a
throw-away PostgreSQL database, starts the server, and then:

1. polls only: ``--pollers`` stations, each polling the status of 100 of its
   records, some of them in the review queue, ``--poll-rate`` polls/s in all,
   for ``--seconds``; prints p50/p95/p99 and the CPU each poll cost the server
   and PostgreSQL;
2. the same polls while ``--upload-stations`` stations upload ``--upload-rate``
   records/s (scripts/bench_server_load.py, which polls too: its polls are
   printed as well), unless ``--upload-rate 0``.

``--probe`` runs the server as one process with scripts/poll_probe.py inside and
prints, for the polls of each phase, where their time went: waiting for a worker
thread (the edge's token check, the route), running there, taking a pool
connection, in the driver's execute, and after the route (response validation
and serialisation). It implies ``--workers 1``.

  python scripts/bench_server_poll.py --sizes 10000 1000000 --workers 2
  python scripts/bench_server_poll.py --sizes 1000000 --probe --seconds 20
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from bench_server import database_for, pct, postmaster_pid  # noqa: E402
from bench_server_load import CODELESS_EVERY, CpuMeter, Http, StationPlan, run_load  # noqa: E402
from bench_server_preload import preload  # noqa: E402
from conftest_pg import PgCluster, stop_cluster  # noqa: E402
from server_process import ServerSite, free_port  # noqa: E402
from test_server_helpers import BATCH  # noqa: E402

from kiosk import codes  # noqa: E402


def poll_targets(database: str, stations: int) -> list[tuple[str, list[str]]]:
    """Up to ``stations`` preloaded stations with queued records, each with 100 of its ids (half queued)."""
    from kiosk.server.db import Database

    db = Database(database)
    try:
        with db.read() as conn:
            queued = conn.exec_driver_sql(
                "SELECT uploaded_by, record_id FROM records WHERE status = 'queued' ORDER BY queue_seq").all()
            recent = conn.exec_driver_sql(
                "SELECT uploaded_by, record_id FROM records ORDER BY captured_ts DESC LIMIT 20000").all()
    finally:
        db.close()
    by_station: dict[str, tuple[list[str], list[str]]] = {}
    for station, record_id in queued:
        by_station.setdefault(station, ([], []))[0].append(str(record_id))
    for station, record_id in recent:
        if station in by_station:
            by_station[station][1].append(str(record_id))
    out = []
    for station, (mine_queued, mine_recent) in sorted(by_station.items()):
        others = [r for r in mine_recent if r not in set(mine_queued)][:50]
        out.append((station, mine_queued[-(100 - len(others)):] + others))
    return [out[i % len(out)] for i in range(stations)] if out else []


def poller_process(url: str, jobs: list[tuple[str, list[str]]], interval: float, seconds: float,
                   start: Any, results: Any) -> None:
    """Poll on a schedule from threads, one per job (token, ids); put the latencies (s) and failures."""
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start.wait()
    began = time.perf_counter()

    def run(token: str, ids: list[str], seed: int) -> None:
        http_ = Http(host, int(port))
        body = json.dumps({"ids": ids}).encode()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        k = 0
        offset = random.Random(seed).random() * interval
        while True:
            due = began + offset + k * interval
            if due - began > seconds:
                return
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            sent = time.perf_counter()
            status, answer = http_.call("POST", "/api/v1/records/status", body, headers)
            took = time.perf_counter() - sent
            with lock:
                if status == 200 and len(json.loads(answer)["records"]) == len(ids):
                    latencies.append(took)
                else:
                    failures.append(f"{status} {answer[:120]!r}")
            k += 1

    threads = [threading.Thread(target=run, args=(token, ids, n)) for n, (token, ids) in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put((latencies, failures))


def run_polls(url: str, jobs: list[tuple[str, list[str]]], rate: float, seconds: float,
              processes: int = 2) -> tuple[Any, Any, Any]:
    """Start the pollers (in ``processes`` processes); (start event, results queue, processes)."""
    ctx = mp.get_context("fork")
    start, results = ctx.Event(), ctx.Queue()
    interval = len(jobs) / rate
    procs = [ctx.Process(target=poller_process, args=(url, jobs[k::processes], interval, seconds, start, results),
                         daemon=True) for k in range(processes) if jobs[k::processes]]
    for p in procs:
        p.start()
    return start, results, procs


def collect(results: Any, procs: list[Any]) -> tuple[list[float], list[str]]:
    """The pollers' latencies and failures, once they are done."""
    latencies: list[float] = []
    failures: list[str] = []
    for _ in procs:
        got, bad = results.get(timeout=3600)
        latencies += got
        failures += bad
    for p in procs:
        p.join(60)
    return latencies, failures


def start_server(site: ServerSite, probe: Path | None) -> str:
    """The server started (with the probe inside when ``probe`` names its output file); its URL."""
    if probe is None:
        return site.start()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    with (site.root / "server-probe.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, str(HERE / "poll_probe.py"), str(probe), "server", "--config",
                                 str(site.config), "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                                stderr=log)
    site.processes.append(proc)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2):
                return url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((site.root / "server-probe.log").read_text("utf-8", "replace")[-2000:]) from None
            time.sleep(0.2)
    raise RuntimeError("the server did not answer in time")


def probe_summary(path: Path, skip: int) -> tuple[str, int]:
    """The probe's lines after the first ``skip``, for status polls, summarised; and the line count."""
    lines = path.read_text().splitlines() if path.exists() else []
    polls = [json.loads(line) for line in lines[skip:]]
    polls = [p for p in polls if p["kind"] == "status" and p["code"] == 200]
    if not polls:
        return "  probe: no polls", len(lines)

    def q(values: list[float]) -> str:
        return f"{pct([v / 1000 for v in values], 50):6.1f}/{pct([v / 1000 for v in values], 95):6.1f}"

    names = list(dict.fromkeys(h[0] for p in polls for h in p["hops"]))

    def hop(name: str, index: int) -> list[float]:
        return [sum(h[index] for h in p["hops"] if h[0] == name) for p in polls]

    out = [f"  probe, {len(polls)} polls, p50/p95 ms: total {q([p['total'] for p in polls])}"
           f" | pool checkout {q([p['checkout'] for p in polls])} | driver execute {q([p['sql'] for p in polls])}"
           f" ({polls[0]['statements']} statements) | after the route {q([p['after'] or 0 for p in polls])}"]
    full = sum(1 for p in polls if p.get("busy") is not None and p["busy"] >= p["of"])
    out.append(f"    polls that found every thread of their limiter busy: {full} of {len(polls)}")
    out += [f"    thread hop {name}: waited {q(hop(name, 1))} ran {q(hop(name, 2))} thread CPU {q(hop(name, 3))}"
            for name in names]
    return "\n".join(out), len(lines)


def show(title: str, latencies: list[float], failures: list[str], extra: str = "") -> None:
    """One line of poll latencies."""
    print(f"  {title:<34} polls={len(latencies):<5} p50/p95/p99 {pct(latencies, 50):6.1f}/{pct(latencies, 95):6.1f}/"
          f"{pct(latencies, 99):6.1f} ms  failures={len(failures)} {failures[0] if failures else ''} {extra}",
          flush=True)


def one_size(size: int, args: argparse.Namespace, cluster: PgCluster | None) -> PgCluster | None:
    """Both phases at one table size."""
    root = Path(tempfile.mkdtemp(prefix="bench-poll-"))
    database, cluster = database_for(args.database, root, cluster)
    took = preload(database, size, min(args.queued, size))
    print(f"{size:,} records ({min(args.queued, size)} queued) written in {took:.0f} s", flush=True)
    today = date.today()
    batch = replace(BATCH, start_date=(today - timedelta(days=1)).isoformat(),
                    end_date=(today + timedelta(days=1)).isoformat())
    workers = 1 if args.probe else args.workers
    site = ServerSite(root, database, settings={"workers": workers, "bind_station_max_misses": 10_000,
                                                "bind_rate_per_minute_station": 100_000}, batch=batch)
    probe = root / "probe.jsonl" if args.probe else None
    try:
        url = start_server(site, probe)
        admin = {"Authorization": f"Bearer {site.admin_token}"}
        jobs = _one_token_per_station(url, admin, poll_targets(database, args.pollers))
        meter = CpuMeter(roots={"server": [p.pid for p in site.processes], "postgres": postmaster_pid(cluster)})
        # phase 1: polls only
        start, results, procs = run_polls(url, jobs, args.poll_rate, args.seconds)
        time.sleep(1)
        meter.begin()
        start.set()
        latencies, failures = collect(results, procs)
        cpu = meter.end()
        polls = max(1, len(latencies))
        show("polls only", latencies, failures, f"CPU per poll: server {cpu['server'] / polls * 1000:.2f} ms, "
             f"postgres {cpu['postgres'] / polls * 1000:.2f} ms")
        skip = 0
        if probe is not None:
            text, skip = probe_summary(probe, 0)
            print(text, flush=True)
        if args.upload_rate:
            with_uploads(url, site, admin, jobs, args, batch)
            if probe is not None:
                print(probe_summary(probe, skip)[0], flush=True)
    finally:
        site.stop()
        if cluster is not None and database.startswith("postgresql"):
            cluster.drop_database(database)
        shutil.rmtree(root, ignore_errors=True)
    return cluster


def with_uploads(url: str, site: ServerSite, admin: dict[str, str], jobs: list[tuple[str, list[str]]],
                 args: argparse.Namespace, batch: Any) -> None:
    """Phase 2: the same polls while stations upload (and poll their own records) at ``--upload-rate``."""
    per_station = args.upload_records // args.upload_stations
    codeless = per_station // CODELESS_EVERY + 1
    pool = [(s.payload, s.last_four) for s in
            codes.demo_codes(site.ring, batch, codeless * args.upload_stations, now=datetime.now(UTC))]
    plans = []
    for s in range(args.upload_stations):
        name = f"bench.station-{s:02d}"
        answer = requests.post(f"{url}/api/v1/tokens", json={"station_id": name}, headers=admin, timeout=60)
        answer.raise_for_status()
        plans.append(StationPlan(name, answer.json()["token"], per_station,
                                 tuple(pool[s * codeless:(s + 1) * codeless]), seed=s))
    start, results, procs = run_polls(url, jobs, args.poll_rate, per_station * args.upload_stations / args.upload_rate)
    threading.Timer(0.5, start.set).start()  # the uploaders' processes start first; the polls join them
    figures, wall, _ = run_load(url, plans, batch.feature_code, clients=4, rate=args.upload_rate,
                                meter=CpuMeter(roots={}))
    latencies, failures = collect(results, procs)
    show(f"polls with {args.upload_rate:g} uploads/s", latencies, failures,
         f"(uploads {len(figures.uploads)}, p95 {pct(figures.uploads, 95):.1f} ms, {len(figures.sent) / wall:.1f}/s)")
    show("the upload stations' own polls", figures.polls, [])


def _one_token_per_station(url: str, admin: dict[str, str],
                           targets: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """(token, ids) per poller: one token issued per station, shared by its pollers."""
    tokens: dict[str, str] = {}
    for station, _ in targets:
        if station not in tokens:
            answer = requests.post(f"{url}/api/v1/tokens", json={"station_id": station, "rotate": True},
                                   headers=admin, timeout=60)
            answer.raise_for_status()
            tokens[station] = answer.json()["token"]
    return [(tokens[station], ids) for station, ids in targets]


def main() -> int:
    """Run the poll benchmark at each size and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--queued", type=int, default=2000)
    parser.add_argument("--database", default="postgresql")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pollers", type=int, default=50, help="polling stations")
    parser.add_argument("--poll-rate", type=float, default=20.0, help="polls/s of all pollers together")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the polls-only phase")
    parser.add_argument("--upload-stations", type=int, default=50)
    parser.add_argument("--upload-rate", type=float, default=100.0, help="records/s uploaded in phase 2 (0: none)")
    parser.add_argument("--upload-records", type=int, default=2000)
    parser.add_argument("--probe", action="store_true", help="one server process with the probe inside")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    cluster: PgCluster | None = None
    try:
        for size in args.sizes:
            cluster = one_size(size, args, cluster)
    finally:
        if cluster is not None:
            stop_cluster(cluster)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
