"""The load of the server benchmark: simulated stations in client processes, and CPU accounting.

Each client process runs some of the stations, one thread each, over plain
``http.client`` keep-alive connections. Every record's photo (a 20-40 KB JPEG,
different each time) and its multipart body are made before the clock starts,
so the figures measure the server, not the making of photos; the stations of a
process share one GIL, so they are spread over several processes. A station
uploads, binds every 5th record (codeless, with a ticket) to a real collection
code, and polls the status of up to 100 of its records after every 10th upload.

With ``rate`` 0 the stations send as fast as the server answers (a closed loop:
the figure is the server's capacity, and latencies are mostly waiting in line).
With a rate (records/s in all) each station sends on a fixed schedule, and an
upload's latency counts from the moment it was due, so a server that falls
behind is not flattered by stations that waited for it.

``CpuMeter`` reads ``/proc`` (Linux) to say how the machine's CPU was spent
during the run: the client processes, the server processes, PostgreSQL, and
everything else on the machine (other people's jobs on a shared one).
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import multiprocessing as mp
import os
import random
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image

from kiosk import tickets

POLL_EVERY = 10
CODELESS_EVERY = 5
BOUNDARY = "kiosk-bench-boundary"


def photo_bytes(rng: random.Random) -> bytes:
    """A 480x640 JPEG of 20-40 KB: smooth noise, different every call."""
    small = Image.frombytes("RGB", (24, 32), rng.randbytes(24 * 32 * 3))
    buf = io.BytesIO()
    small.resize((480, 640), Image.Resampling.BICUBIC).save(buf, "JPEG", quality=rng.choice((70, 75, 80)))
    return buf.getvalue()


@dataclass(frozen=True)
class StationPlan:
    """One simulated station: its name, token, number of records, and students to bind (payload, last four)."""

    name: str
    token: str
    count: int
    students: tuple[tuple[str, str], ...]
    seed: int


@dataclass
class Prepared:
    """One record ready to send: its id, multipart body, photo hash and ticket (codeless only)."""

    record_id: str
    body: bytes
    photo_sha256: str
    ticket: str | None


@dataclass
class Outcome:
    """What the stations of one client process measured."""

    uploads: list[float] = field(default_factory=list)
    polls: list[float] = field(default_factory=list)
    binds: list[float] = field(default_factory=list)
    sent: dict[str, str] = field(default_factory=dict)  # record id -> photo sha256
    errors: list[str] = field(default_factory=list)
    cpu_s: float = 0.0
    ended: float = 0.0

    def merge(self, other: Outcome) -> None:
        """Add ``other``'s figures to these."""
        self.uploads += other.uploads
        self.polls += other.polls
        self.binds += other.binds
        self.sent.update(other.sent)
        self.errors += other.errors
        self.cpu_s += other.cpu_s
        self.ended = max(self.ended, other.ended)


def prepare(plan: StationPlan, feature_code: str) -> list[Prepared]:
    """The station's records, photos and bodies made (before the clock starts)."""
    rng = random.Random(plan.seed)
    out = []
    for i in range(plan.count):
        photo = photo_bytes(rng)
        record_id = str(uuid.uuid4())  # not from the seeded generator: unique across stations and preloads
        codeless = bool(plan.students) and i % CODELESS_EVERY == CODELESS_EVERY - 1
        ticket = tickets.new_ticket() if codeless else None
        sha = hashlib.sha256(photo).hexdigest()
        meta = {"record_id": record_id, "batch": feature_code, "station_id": plan.name,
                "captured_at": datetime.now(UTC).isoformat(), "monotonic_ns": time.monotonic_ns(),
                "boot_id": plan.name, "codeless": codeless, "ticket": ticket,
                "code_payload": None if codeless else f"KC1.bench.{record_id}", "code": None,
                "id_last4": None if codeless else "123X", "phone": None, "name": None,
                "photo_sha256": sha, "photo_bytes": len(photo), "original_sha256": None,
                "status_secret": secrets.token_urlsafe(16)}
        body = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n'
                f"Content-Type: application/json\r\n\r\n{json.dumps(meta)}\r\n"
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="photo"; filename="photo.jpg"\r\n'
                f"Content-Type: image/jpeg\r\n\r\n").encode() + photo + f"\r\n--{BOUNDARY}--\r\n".encode()
        out.append(Prepared(record_id, body, sha, ticket))
    return out


class Http:
    """One keep-alive connection to the server, reopened after an error."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.conn: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """Send one request; its status and body (status 0 and the error for a failed connection)."""
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                answer = self.conn.getresponse()
                return answer.status, answer.read()
            except (OSError, http.client.HTTPException) as exc:
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    return 0, str(exc).encode()
        return 0, b""


def station_run(host: str, port: int, plan: StationPlan, records: list[Prepared], start_at: float,
                interval: float, out: Outcome, lock: threading.Lock) -> None:
    """One station: its uploads in turn (on schedule when ``interval`` > 0), with binds and polls."""
    http_ = Http(host, port)
    auth = {"Authorization": f"Bearer {plan.token}"}
    students = list(plan.students)
    mine: list[str] = []
    offset = random.Random(plan.seed).random() * interval
    for i, record in enumerate(records):
        due = time.perf_counter()
        if interval:
            due = start_at + offset + i * interval
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        status, body = http_.call("PUT", f"/api/v1/records/{record.record_id}", record.body,
                                  {**auth, "Idempotency-Key": record.record_id,
                                   "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
        took = time.perf_counter() - due
        with lock:
            if status in (200, 201):
                out.uploads.append(took)
                out.sent[record.record_id] = record.photo_sha256
            else:
                out.errors.append(f"upload {status} {body[:200]!r}")
        mine.append(record.record_id)
        if record.ticket is not None and students and status in (200, 201):
            payload, last4 = students.pop()
            held = json.loads(body).get("ticket") or record.ticket
            started = time.perf_counter()
            status, body = http_.call("POST", "/api/v1/bind", json.dumps(
                {"ticket": held, "code_payload": payload, "id_last4": last4}).encode(),
                {**auth, "Content-Type": "application/json"})
            took = time.perf_counter() - started
            with lock:
                out.binds.append(took)
                if status != 200:
                    out.errors.append(f"bind {status} {body[:200]!r}")
        if i % POLL_EVERY == POLL_EVERY - 1:
            started = time.perf_counter()
            status, body = http_.call("POST", "/api/v1/records/status", json.dumps({"ids": mine[-100:]}).encode(),
                                      {**auth, "Content-Type": "application/json"})
            took = time.perf_counter() - started
            with lock:
                out.polls.append(took)
                if status != 200:
                    out.errors.append(f"status {status} {body[:200]!r}")


def client_process(host: str, port: int, plans: list[StationPlan], feature_code: str, interval: float,
                   ready: Any, start: Any, results: Any) -> None:
    """A client process: make its stations' records, say so, wait for the start, run, report."""
    work = [(plan, prepare(plan, feature_code)) for plan in plans]
    ready.put(os.getpid())
    start.wait()
    start_at = time.perf_counter()
    cpu = time.process_time()
    out = Outcome()
    lock = threading.Lock()
    threads = [threading.Thread(target=station_run, args=(host, port, plan, records, start_at, interval, out, lock))
               for plan, records in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.cpu_s = time.process_time() - cpu
    out.ended = time.time()
    results.put(out)


def run_load(url: str, plans: list[StationPlan], feature_code: str, *, clients: int, rate: float,
             meter: CpuMeter) -> tuple[Outcome, float, dict[str, float]]:
    """Run the stations in ``clients`` processes; their merged figures, the wall time, and the CPU use."""
    host, port = url.removeprefix("http://").split(":")
    ctx = mp.get_context("fork")
    ready, results, start = ctx.Queue(), ctx.Queue(), ctx.Event()
    interval = len(plans) / rate if rate else 0.0
    groups = [plans[k::clients] for k in range(clients) if plans[k::clients]]
    procs = [ctx.Process(target=client_process, args=(host, int(port), group, feature_code, interval, ready,
                                                       start, results), daemon=True) for group in groups]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=600)
    meter.begin()
    began = time.time()
    start.set()
    merged = Outcome()
    for _ in procs:
        merged.merge(results.get(timeout=3600))
    for p in procs:
        p.join(60)
    cpu = meter.end()
    cpu["clients"] = merged.cpu_s  # reported by each client process: once reaped they leave no trace in /proc
    return merged, merged.ended - began, cpu


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[int, float, float]:
    """(parent pid, own CPU s, reaped children's CPU s) of ``pid`` from /proc; zeros when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0, 0.0, 0.0
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK, (int(fields[13]) + int(fields[14])) / _TICK


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()] if os.path.isdir("/proc") else []


@dataclass
class CpuMeter:
    """CPU seconds of process trees (server, PostgreSQL) and of the whole machine over a run."""

    roots: dict[str, list[int]] = field(default_factory=dict)  # name -> root pids (their children count too)
    _start: dict[str, float] = field(default_factory=dict)

    def _trees(self) -> dict[str, float]:
        stats = {pid: _stat(pid) for pid in _all_pids()}
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in stats.items():
            children.setdefault(ppid, []).append(pid)
        out: dict[str, float] = {}
        for name, roots in self.roots.items():
            total, todo = 0.0, list(roots)
            while todo:
                pid = todo.pop()
                _, own, reaped = stats.get(pid, (0, 0.0, 0.0))
                total += own + reaped
                todo += children.get(pid, [])
            out[name] = total
        out["machine_busy"], out["machine_all"] = _machine()
        return out

    def begin(self) -> None:
        """Note the counters at the start of the run."""
        self._start = self._trees()

    def end(self) -> dict[str, float]:
        """CPU seconds used by each tree, and by the machine (busy, all), since ``begin``."""
        now = self._trees()
        return {k: now[k] - self._start.get(k, 0.0) for k in now}


def _machine() -> tuple[float, float]:
    """(busy, all) CPU seconds of the machine since boot, from /proc/stat."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0, 0.0
    values = [int(v) for v in first]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / _TICK, sum(values[:8]) / _TICK
