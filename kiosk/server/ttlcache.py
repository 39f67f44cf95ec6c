"""A small in-process cache whose entries expire after a fixed time (tokens, batches).

Each server process keeps its own: a change made through this process clears
the entry at once (``forget``); a change made by another process (another
worker, the ``kiosk server token`` command) is seen when the entry expires,
``ttl_s`` seconds at most. Only answers worth keeping are put in (a valid
token, a batch that exists), so a token issued elsewhere works at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: entries kept at most; past this the cache starts over (a bound, not an eviction policy)
MAX_ENTRIES = 10_000


class TtlCache(Generic[K, V]):
    """Values by key, each valid for ``ttl_s`` seconds after it was put (thread-safe under the GIL)."""

    def __init__(self, ttl_s: float, *, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = MAX_ENTRIES) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._max = max_entries
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        """The value of ``key`` while it is fresh, else None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` for ``key`` for ``ttl_s`` seconds (nothing when ``ttl_s`` is 0)."""
        if self.ttl_s <= 0:
            return
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[key] = (self._clock() + self.ttl_s, value)

    def forget(self, match: Callable[[K, V], bool] | None = None) -> None:
        """Drop the entries for which ``match(key, value)`` holds (every entry without ``match``)."""
        if match is None:
            self._entries.clear()
            return
        for key, (_, value) in list(self._entries.items()):
            if match(key, value):
                self._entries.pop(key, None)
