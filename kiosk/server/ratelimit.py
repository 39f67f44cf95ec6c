"""Rate limits per client address: token buckets, and a gate that keeps their log lines few.

A bucket holds up to ``per_minute`` tokens and refills at ``per_minute`` a
minute; each attempt takes one, and an attempt that finds the bucket empty is
told how long to wait. Buckets live in memory, one per key, the least recently
used dropped beyond ``max_keys`` so that a spray of addresses cannot grow the
table without bound. Each server process keeps its own buckets: with several
processes a client gets that many times the limit, which is why the per-ticket
lock in the database stays the hard bound on guesses and this limit the first,
cheap one.

All methods are meant for one thread (the server's event loop).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """Token buckets of ``per_minute`` attempts a minute (a burst of as many), one per key."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        """Take one attempt for ``key``: 0 when allowed, else the seconds until one is."""
        now = self._clock()
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(float(self.per_minute), now)
        else:
            bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.stamp) * self._rate)
            bucket.stamp = now
        self._buckets[key] = bucket
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self._rate

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after(wait_s: float) -> int:
    """A wait as the whole seconds of a ``Retry-After`` header (at least 1)."""
    return max(1, math.ceil(wait_s))


class RepeatGate:
    """Lets one log line per key through every ``every_s`` seconds and counts the ones held back.

    ``passes(key)`` is 0 or more when the line should be written now (the count
    of lines held back since the last one, for the line to say so), and None
    when it should be held back.
    """

    def __init__(self, every_s: float = 60.0, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 10_000) -> None:
        self._every = every_s
        self._clock = clock
        self._max_keys = max_keys
        self._last: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def passes(self, key: str) -> int | None:
        """The number of lines held back for ``key`` if one may be written now, else None."""
        now = self._clock()
        seen = self._last.pop(key, None)
        if seen is not None and now - seen[0] < self._every:
            self._last[key] = (seen[0], seen[1] + 1)
            return None
        self._last[key] = (now, 0)
        while len(self._last) > self._max_keys:
            self._last.popitem(last=False)
        return 0 if seen is None else seen[1]
