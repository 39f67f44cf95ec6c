"""Today's batch for the station: fetched when online, cached for offline days.

The operator sets the batch on screen by its feature code; the choice is
remembered in the data dir so a restart keeps it, and the batch itself comes
from the sync module's cache (``kiosk.sync.batchcache``) when the server cannot be
reached.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from kiosk import durable
from kiosk.batch import Batch, normalise_feature_code
from kiosk.errors import KioskError
from kiosk.sync.batchcache import load_cached_batch, save_batch

log = logging.getLogger(__name__)

CHOICE_FILE = "station_batch.txt"


class BatchUnavailable(KioskError):
    """No batch for this feature code: the server cannot be reached and none is cached."""

    default_key = "flow.error.batch_unknown"


class BatchNotFound(KioskError):
    """The server answered: no batch has this feature code."""

    default_key = "flow.error.batch_not_found"


class BatchSource:
    """The station's batch: ``current()`` at start, ``load(code)`` from the operator screen.

    ``fetch(code) -> Batch`` asks the server (``kiosk.sync.fetch_batch``
    bound to its settings), raising a ``KioskError`` when it cannot; None
    means the station is offline by configuration.
    """

    def __init__(self, data_dir: Path | str, configured: str = "",
                 fetch: Callable[[str], Batch] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.configured = configured
        self.fetch = fetch

    def _chosen(self) -> str:
        try:
            return (self.data_dir / CHOICE_FILE).read_text("utf-8").strip()
        except FileNotFoundError:
            return ""
        except OSError as exc:
            log.warning("batch.choice_unreadable errno=%s", exc.errno)
            return ""

    def current(self) -> Batch | None:
        """The batch last chosen on screen, else the configured one; from the cache, or fetched once."""
        code = self._chosen() or self.configured
        if not code:
            return None
        cached = load_cached_batch(self.data_dir, code)
        if cached is not None:
            return cached
        try:
            return self.load(code)[0]
        except KioskError as exc:
            log.warning("batch.unavailable key=%s", exc.key)
            return None

    def load(self, feature_code: str) -> tuple[Batch, bool]:
        """``(batch, offline)``: fetched when online (and cached), else the cached copy; remembered as chosen."""
        code = normalise_feature_code(feature_code)
        batch: Batch | None = None
        offline = True
        unknown = False
        if self.fetch is not None:
            try:
                batch = self.fetch(code)
                offline = False
            except (KioskError, OSError) as exc:
                key = getattr(exc, "key", type(exc).__name__)
                # the server said "no such batch": a typo, not a network problem; say which
                unknown = key == "sync.batch_unknown"
                log.info("batch.fetch_failed key=%s", key)
        if batch is None and unknown:
            raise BatchNotFound(detail="http 404", code=code)
        if batch is None:
            batch = load_cached_batch(self.data_dir, code)
        if batch is None:
            raise BatchUnavailable(detail="not fetched, not cached")
        if not offline:
            try:
                save_batch(self.data_dir, batch)
            except OSError as exc:
                log.warning("batch.cache_write_failed errno=%s", exc.errno)
        self._remember(batch.feature_code)
        return batch, offline

    def _remember(self, code: str) -> None:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            durable.write_file(self.data_dir / CHOICE_FILE, code.encode("ascii"))
        except OSError as exc:
            log.warning("batch.choice_write_failed errno=%s", exc.errno)

