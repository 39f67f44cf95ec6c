"""The short-lived caches of tokens and batches: fresh answers at once from this process, within seconds from others."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from test_server_helpers import BATCH

from kiosk.server.auth import StationTokens
from kiosk.server.batches import BatchBook
from kiosk.server.db import Database
from kiosk.server.ttlcache import TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_and_can_be_forgotten() -> None:
    clock = Clock()
    cache: TtlCache[str, str] = TtlCache(5.0, clock=clock, max_entries=3)
    cache.put("a", "1")
    cache.put("b", "2")
    assert cache.get("a") == "1"
    clock.now += 5.0
    assert cache.get("a") is None
    cache.put("a", "1")
    cache.forget(lambda _, value: value == "1")
    assert cache.get("a") is None and cache.get("b") is None  # b expired with the clock
    for key in "abcd":
        cache.put(key, key)
    assert cache.get("d") == "d"  # past the bound the cache starts over rather than grow
    off: TtlCache[str, str] = TtlCache(0.0)
    off.put("a", "1")
    assert off.get("a") is None


def test_a_token_revoked_elsewhere_is_refused_within_the_cache_time(tmp_path: Path) -> None:
    db = Database(tmp_path / "server.db")
    now = datetime.now(UTC)
    here, elsewhere = StationTokens(db, cache_s=60.0), StationTokens(db, cache_s=60.0)
    token = here.issue("station-01", now)
    assert here.station_for(token) == "station-01"
    assert here.remembered(token) == "station-01"
    assert elsewhere.revoke("station-01", now)  # another process: this one still trusts it for a while
    assert here.station_for(token) == "station-01"
    assert StationTokens(db, cache_s=0.0).station_for(token) is None
    here.revoke("station-01", now)  # through this process: at once
    assert here.remembered(token) is None and here.station_for(token) is None
    new = here.issue("station-01", now, rotate=True)
    assert here.station_for(new) == "station-01" and here.station_for(token) is None
    assert here.station_for("not-a-token") is None and here.remembered("not-a-token") is None
    db.close()


def test_a_batch_replaced_here_is_read_again_at_once(tmp_path: Path) -> None:
    db = Database(tmp_path / "server.db")
    book = BatchBook(db, cache_s=60.0)
    assert book.recent(BATCH.feature_code) is None
    book.put(BATCH, datetime.now(UTC))
    assert book.recent(BATCH.feature_code) == book.get(BATCH.feature_code)
    book.put(replace(BATCH, end_date="2030-01-01"), datetime.now(UTC))
    recent = book.recent(BATCH.feature_code)
    assert recent is not None and recent.end_date == "2030-01-01"
    db.close()
