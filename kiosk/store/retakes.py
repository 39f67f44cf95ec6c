"""The store's retake counts: how many retakes each student has used in a batch, kept across restarts.

``Store`` inherits this. The flow counts retakes per student per batch in its
context; the station keeps each count here when a retake is spent and passes
the batch's counts back in at start, so that neither waiting out a timeout
nor a restart of the station gives a student a fresh allowance. A count is
keyed by the flow's ``retake_digest`` (a digest of the batch and the student's
key), never by a student id; counts are purged with the records' retention.
"""

from __future__ import annotations

import logging
import re

from kiosk.store.errors import StoreError, typed
from kiosk.store.part import StorePart
from kiosk.store.record import format_time

log = logging.getLogger(__name__)

#: what a digest looks like (hex, as ``kiosk.flow.states.retake_digest`` makes it)
_DIGEST = re.compile(r"^[0-9a-f]{16,64}$")
#: more retakes than any station allows: a count beyond is a bug, not a student
MAX_COUNT = 1000


class RetakeBook(StorePart):
    """The retake half of ``Store``; needs the store's connection, clock and transactions."""

    @typed
    def retakes(self, batch: str) -> tuple[tuple[str, int], ...]:
        """The retake counts kept for ``batch``, as the flow's context holds them: ``((digest, used), ...)``."""
        rows = self._conn.execute("SELECT digest, used FROM retakes WHERE batch = ? ORDER BY digest", (batch,))
        return tuple((str(r["digest"]), int(r["used"])) for r in rows)

    def keep_retakes(self, digest: str, batch: str, used: int) -> int:
        """Keep a student's retake count (never lowered: the higher of the kept and the given); the count kept.

        ``StoreError`` ("store.failed") for a digest or count that cannot be one:
        nothing is stored then.
        """
        if not isinstance(digest, str) or not _DIGEST.match(digest):
            log.error("retakes.refused why=digest")
            raise StoreError("store.failed", "retakes: not a digest")
        if not isinstance(used, int) or isinstance(used, bool) or not 0 <= used <= MAX_COUNT:
            log.error("retakes.refused why=count")
            raise StoreError("store.failed", "retakes: count out of range")
        with self.write() as conn:
            conn.execute("INSERT INTO retakes (digest, batch, used, updated_at) VALUES (?,?,?,?) "
                         "ON CONFLICT (digest) DO UPDATE SET used = max(used, excluded.used), "
                         "updated_at = excluded.updated_at", (digest, batch, used, format_time(self._clock())))
            kept = int(conn.execute("SELECT used FROM retakes WHERE digest = ?", (digest,)).fetchone()[0])
        log.info("retakes.kept used=%d", kept)
        return kept
