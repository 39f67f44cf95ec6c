"""The bind lock holds against hundreds of concurrent guesses at a real server process (or two).

The server runs as its own process (``python -m kiosk server``), as in production,
and the guesses arrive over real HTTP connections, all at once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from server_process import ServerSite
from test_server_helpers import IN_BATCH, jpeg, metadata, put_headers, upload_parts

codes = pytest.importorskip("kiosk.codes")
tickets = pytest.importorskip("kiosk.tickets")

GUESSES = 500
MAX_MISSES = 5

#: a rate far above what the test sends, so every guess reaches the database
RATE_UNLIMITED = 100_000


@pytest.fixture
def site(tmp_path: Path, server_database_url: str) -> Iterator[ServerSite]:
    site = ServerSite(tmp_path, server_database_url, {
        # the per-address rate limit would refuse most guesses before they reach the counters under test
        "bind_max_misses": MAX_MISSES, "bind_rate_per_minute": RATE_UNLIMITED,
        "bind_rate_per_minute_station": RATE_UNLIMITED})
    try:
        yield site
    finally:
        site.stop()


def upload_codeless(url: str, site: ServerSite) -> str:
    """A codeless record on the server; its ticket."""
    ticket = tickets.new_ticket()
    photo = jpeg(1)
    meta = metadata(photo, codeless=True, ticket=ticket, captured_at=IN_BATCH)
    answer = requests.put(f"{url}/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                          headers=put_headers(site.station_token, meta["record_id"]), timeout=30)
    assert answer.status_code == 201, answer.text
    return ticket


async def guess_all(urls: list[str], body: dict[str, Any], n: int) -> Counter[int]:
    """``n`` binds sent at once (spread over ``urls``), each on its own connection; the statuses."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        start = asyncio.Event()

        async def one(i: int) -> int:
            await start.wait()
            answer = await client.post(f"{urls[i % len(urls)]}/api/v1/bind", json=body)
            return answer.status_code

        tasks = [asyncio.create_task(one(i)) for i in range(n)]
        await asyncio.sleep(0.2)
        start.set()
        return Counter(await asyncio.gather(*tasks))


def run_race(site: ServerSite, urls: list[str]) -> None:
    ticket = upload_codeless(urls[0], site)
    student = codes.demo_codes(site.ring, __import__("test_server_helpers").BATCH, 1, now=datetime.now(UTC))[0]
    wrong = "0000" if student.last_four != "0000" else "1111"
    statuses = asyncio.run(guess_all(urls, {"ticket": ticket, "code_payload": student.payload, "id_last4": wrong},
                                     GUESSES))
    # every guess is answered; at most MAX_MISSES were compared with the code, the rest refused unread
    assert sum(statuses.values()) == GUESSES
    assert set(statuses) <= {422, 429}, statuses
    assert 1 <= statuses[422] <= MAX_MISSES, statuses
    # no late wrong answer cleared the lock: the right answer now waits too
    right = {"ticket": ticket, "code_payload": student.payload, "id_last4": student.last_four}
    assert requests.post(f"{urls[-1]}/api/v1/bind", json=right, timeout=30).status_code == 429
    lifted = requests.delete(f"{urls[0]}/api/v1/bind/locks/{ticket}", timeout=30,
                             headers={"Authorization": f"Bearer {site.admin_token}"})
    assert lifted.json() == {"unlocked": True}
    assert requests.post(f"{urls[-1]}/api/v1/bind", json=right, timeout=30).status_code == 200


@pytest.mark.slow
def test_hundreds_of_concurrent_guesses_get_at_most_the_allowed_misses_evaluated(site: ServerSite) -> None:
    run_race(site, [site.start()])
