#!/usr/bin/env python3
"""Benchmark the station's record store and sync client; prints figures, asserts nothing.

* capture commit (photo fsync + rename + dir fsync + row commit): p50/p95
* records/s syncing N records (~35 KB photos) to a loopback server (the real
  embedded server when available, else a small fake), and per-upload p50/p95
* picking the next record with 100,000 rows queued against an empty queue

Usage: .venv/bin/python scripts/bench_sync.py [--records 2000] [--queued 100000] [--dir DIR]
(DIR: where the store lives, default a temp dir on /tmp; use the station's disk for real figures).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import requests
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk.config import ServerConfig, ServerSection, SyncSection  # noqa: E402
from kiosk.store import NewRecord, Store  # noqa: E402
from kiosk.store.record import format_time  # noqa: E402
from kiosk.sync import SyncClient  # noqa: E402


def photo(seed: int, target_kb: int = 35) -> bytes:
    """A 480x640 JPEG of about ``target_kb`` KB: a smooth portrait-like gradient plus a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:640, 0:480]
    base = np.stack([100 + 0 * x, 197 - y // 8, 255 - x // 4], axis=-1).astype(np.int16)
    noise = rng.integers(-20, 20, base.shape)
    img = Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    quality = 90
    while True:
        out.seek(0)
        out.truncate()
        img.save(out, "JPEG", quality=quality)
        if out.tell() <= (target_kb + 2) * 1024 or quality <= 30:
            return out.getvalue()
        quality -= 5


def pct(values: list[float], q: float) -> float:
    """The q-th percentile, in milliseconds."""
    return float(np.percentile(values, q)) * 1000


class TimedSession(requests.Session):
    """A session that times each upload."""

    def __init__(self) -> None:
        super().__init__()
        self.put_s: list[float] = []

    def put(self, url: str | bytes, data: Any = None, **kw: Any) -> requests.Response:  # type: ignore[override]
        t = time.perf_counter()
        try:
            return super().put(url, data, **kw)
        finally:
            self.put_s.append(time.perf_counter() - t)


def start_server(workdir: Path) -> tuple[Any, str, str]:
    """(server, base_url, station token): the embedded server, or a fake when it is not there."""
    try:
        from kiosk.server.embedded import EmbeddedServer
    except ImportError:
        sys.path.insert(0, str(ROOT / "tests"))
        from test_sync_fakes import TOKEN, FakeServer

        fake = FakeServer().__enter__()
        return fake, fake.base_url, TOKEN
    cfg = ServerConfig(server=ServerSection(data_dir=workdir / "server", admin_token_file=workdir / "admin.token"))
    server = EmbeddedServer(cfg)
    url = server.start()
    return server, url, server.issue_station_token("bench")


def bench_capture_and_sync(workdir: Path, n: int) -> None:
    photos = [photo(i) for i in range(16)]
    kb = statistics.mean(len(p) for p in photos) / 1024
    store = Store.open(workdir / "station")
    commit_s = []
    for i in range(n):
        new = NewRecord(batch="1S95KT", station_id="bench", code_payload=f"KC1.bench-{i}", id_last4="1234")
        t = time.perf_counter()
        store.add_record(new, photos[i % len(photos)])
        commit_s.append(time.perf_counter() - t)
    print(f"capture commit ({n} records, {kb:.0f} KB photos): p50 {pct(commit_s, 50):.1f} ms, "
          f"p95 {pct(commit_s, 95):.1f} ms")

    server, url, token = start_server(workdir)
    kind = type(server).__name__
    try:
        session = TimedSession()
        session.headers["Authorization"] = f"Bearer {token}"
        client = SyncClient(SyncSection(server_url=url, read_timeout_s=30), store, "bench", session=session)
        t = time.perf_counter()
        report = client.run_once()
        elapsed = time.perf_counter() - t
        print(f"sync to {kind} on loopback: {report.sent}/{n} sent in {elapsed:.1f} s = {report.sent / elapsed:.0f} "
              f"records/s; per upload p50 {pct(session.put_s, 50):.1f} ms, p95 {pct(session.put_s, 95):.1f} ms")
    finally:
        if kind == "FakeServer":
            server.__exit__(None, None, None)
        else:
            server.stop()
        store.close()


def fill_queue(store: Store, n: int, state: str, due_at: float) -> None:
    """``n`` rows straight into the table (no photo files), in one transaction."""
    now = format_time(datetime.now(UTC))
    rows = []
    for _ in range(n):
        rid = str(uuid.uuid4())
        rows.append((rid, "1S95KT", "bench", now, now[:10], 0, "boot", f"photos/{rid}.jpg", "0" * 64, 1, state,
                     due_at))
    with store.write() as conn:
        conn.executemany("INSERT INTO records (id, batch, station_id, captured_at, captured_day, monotonic_ns, "
                         "boot_id, photo_path, photo_sha256, photo_bytes, sync_state, due_at) "
                         "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)


def time_pick(store: Store, repeat: int) -> float:
    """Median seconds of the read half of lease_next (the choice of the next record)."""
    sql = """SELECT seq FROM records WHERE seq = (SELECT min(seq) FROM (
               SELECT seq FROM (SELECT seq FROM records INDEXED BY records_pending
                                WHERE sync_state = 'pending' ORDER BY seq LIMIT 1)
               UNION ALL
               SELECT seq FROM (SELECT seq FROM records INDEXED BY records_due
                                WHERE sync_state IN ('retry', 'sending') AND due_at <= ? ORDER BY due_at LIMIT 1)))"""
    conn = store.conn
    now = time.time()
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        conn.execute(sql, (now,)).fetchall()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def time_lease(store: Store, repeat: int) -> float:
    """Median seconds of lease_next (write lock, update, event, commit with fsync)."""
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        store.lease_next("bench", 60, datetime.now(UTC))
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def bench_pick(workdir: Path, queued: int) -> None:
    empty = Store.open(workdir / "empty", check_photos="none")
    pick_empty, lease_empty = time_pick(empty, 2000), time_lease(empty, 50)
    fill_queue(empty, 100, "pending", 0)
    lease_small = time_lease(empty, 50)
    empty.close()
    full = Store.open(workdir / "full", check_photos="none")
    fill_queue(full, queued, "pending", 0)
    pick_full, lease_full = time_pick(full, 2000), time_lease(full, 50)
    # the other door: as many retries, none due yet, and nothing pending
    retry = Store.open(workdir / "retry", check_photos="none")
    fill_queue(retry, queued, "retry", time.time() + 3600)
    pick_retry = time_pick(retry, 2000)
    print(f"next-record pick (query): empty {pick_empty * 1e6:.0f} us, {queued:,} pending "
          f"{pick_full * 1e6:.0f} us ({pick_full / pick_empty:.2f}x), {queued:,} retries not due "
          f"{pick_retry * 1e6:.0f} us ({pick_retry / pick_empty:.2f}x)")
    print(f"lease_next (with its fsynced commit): empty queue {lease_empty * 1000:.2f} ms, 100 queued "
          f"{lease_small * 1000:.2f} ms, {queued:,} queued {lease_full * 1000:.2f} ms")
    full.close()
    retry.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000, help="records to capture and sync")
    parser.add_argument("--queued", type=int, default=100_000, help="rows queued for the pick benchmark")
    parser.add_argument("--dir", type=Path, help="parent directory for the stores (default: /tmp)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-sync-", dir=args.dir))
    try:
        bench_capture_and_sync(workdir, args.records)
        bench_pick(workdir, args.queued)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.exit(main())
