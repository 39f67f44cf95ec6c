"""What each part of ``Store`` (its outbox, staff desk and retake counts) needs of the store itself.

The parts are mixins of ``kiosk.store.Store``, which provides all of this: its
connection, its clock, its write transactions, its audit events and its row
reading. Naming them once here lets each part's module be read (and type
checked) on its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from kiosk.store.record import Record


class StorePart:
    """The base of ``Store``'s parts; every method here is provided by ``Store``."""

    _conn: sqlite3.Connection
    _clock: Callable[[], datetime]

    def write(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction holding the write lock from its start."""
        raise NotImplementedError

    def event(self, conn: sqlite3.Connection, record_id: str, kind: str, from_state: str | None,
              to_state: str | None, *, detail: str = "") -> None:
        """Append a record's audit event inside the caller's transaction; no personal data in ``detail``."""
        raise NotImplementedError

    def _row(self, record_id: str) -> sqlite3.Row:
        """The ``records`` row of ``record_id`` (``UnknownRecord`` when there is none)."""
        raise NotImplementedError

    def _record(self, row: sqlite3.Row) -> Record:
        """A ``Record`` from a ``records`` row."""
        raise NotImplementedError
