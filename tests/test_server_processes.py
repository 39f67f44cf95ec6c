"""Several server processes on one PostgreSQL database keep every guarantee of one process.

One server runs with ``--workers 2``, another as a single process, both on the
same database; hundreds of concurrent replays of the same records, spread over
both, store exactly one record per id, and the bind lock holds across them.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from server_process import ServerSite
from test_server_bind_race import MAX_MISSES, run_race
from test_server_helpers import IN_BATCH, jpeg, metadata, put_headers, upload_parts

RECORDS = 20
REPLAYS = 15


@pytest.fixture
def site(tmp_path: Path, pg_database_url: str) -> Iterator[ServerSite]:
    site = ServerSite(tmp_path, pg_database_url, {"bind_max_misses": MAX_MISSES,
                                                     # the edge's per-address rate limit is not what is measured here
                                                     "bind_rate_per_minute": 100_000})
    try:
        yield site
    finally:
        site.stop()


async def replay_all(urls: list[str], token: str, uploads: list[tuple[dict[str, Any], bytes]]
                     ) -> list[tuple[str, int, Any]]:
    """Every upload ``REPLAYS`` times at once, spread over ``urls``; (record id, status, body) of each answer."""
    n = len(uploads) * REPLAYS
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=180) as client:
        start = asyncio.Event()

        async def one(i: int) -> tuple[str, int, Any]:
            meta, photo = uploads[i % len(uploads)]
            await start.wait()
            answer = await client.put(f"{urls[i % len(urls)]}/api/v1/records/{meta['record_id']}",
                                      files=upload_parts(meta, photo),
                                      headers=put_headers(token, meta["record_id"]))
            return meta["record_id"], answer.status_code, answer.json()

        tasks = [asyncio.create_task(one(i)) for i in range(n)]
        await asyncio.sleep(0.2)
        start.set()
        return list(await asyncio.gather(*tasks))


@pytest.mark.slow
def test_two_servers_on_one_database_store_exactly_one_record_per_id(site: ServerSite) -> None:
    urls = [site.start("--workers", "2"), site.start()]
    uploads = [(metadata(photo, captured_at=IN_BATCH), photo) for photo in (jpeg(i) for i in range(RECORDS))]
    answers = asyncio.run(replay_all(urls, site.station_token, uploads))
    by_id: dict[str, list[tuple[int, Any]]] = defaultdict(list)
    for record_id, status, body in answers:
        by_id[record_id].append((status, body))
    assert len(by_id) == RECORDS
    for record_id, got in by_id.items():
        statuses = Counter(status for status, _ in got)
        assert statuses == Counter({201: 1, 200: REPLAYS - 1}), (record_id, statuses)
        # every replay got the first upload's acknowledgement (the place in the queue is as of each answer:
        # a record numbered earlier may commit later and go ahead of it)
        assert len({str({**body, "queue_position": None}) for _, body in got}) == 1
    queue = requests.get(f"{urls[1]}/api/v1/review/queue", params={"limit": 1000}, timeout=30,
                         headers={"Authorization": f"Bearer {site.admin_token}"}).json()
    assert queue["total"] == RECORDS
    assert sorted(r["record_id"] for r in queue["records"]) == sorted(by_id)
    assert [r["queue_position"] for r in queue["records"]] == list(range(1, RECORDS + 1))


@pytest.mark.slow
def test_the_bind_lock_holds_across_server_processes(site: ServerSite) -> None:
    run_race(site, [site.start(), site.start()])
