"""The server's SQLite database: connection, schema migrations, transactions.

One connection, shared by the request threads behind a lock: SQLite serialises
writers anyway, and one connection keeps WAL mode, ``synchronous=FULL`` and the
busy timeout in one place. Uniqueness (a record id, a claim ticket) is enforced by
constraints, never by a look-up before an insert, so a second server process on
the same file cannot create a duplicate either.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kiosk.errors import KioskError

log = logging.getLogger(__name__)


class DataDirError(KioskError):
    """The server's data directory or database cannot be used."""

    default_key = "server.unreachable_data_dir"

#: schema migrations, applied in order; ``PRAGMA user_version`` counts those applied
MIGRATIONS: list[str] = [
    """
    CREATE TABLE batches (
        feature_code TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE tokens (
        station_id TEXT PRIMARY KEY,
        token_sha256 TEXT NOT NULL UNIQUE,
        issued_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE records (
        record_id TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        metadata TEXT NOT NULL,
        batch TEXT NOT NULL,
        station_id TEXT NOT NULL,
        uploaded_by TEXT NOT NULL,
        captured_at TEXT NOT NULL,
        captured_ts REAL NOT NULL,
        received_at TEXT NOT NULL,
        photo_sha256 TEXT NOT NULL,
        photo_bytes INTEGER NOT NULL,
        original_sha256 TEXT,
        codeless INTEGER NOT NULL,
        ticket TEXT UNIQUE,
        code_payload TEXT,
        code_json TEXT,
        student_uid TEXT,
        id_last4 TEXT,
        status TEXT NOT NULL,
        queue_seq INTEGER,
        reason TEXT,
        bound_at TEXT,
        reviewed_at TEXT
    );
    CREATE INDEX records_queue ON records (status, queue_seq);
    CREATE INDEX records_captured ON records (captured_ts);
    CREATE INDEX records_photo ON records (photo_sha256);
    CREATE INDEX records_original ON records (original_sha256);
    CREATE TABLE ticket_attempts (
        ticket TEXT PRIMARY KEY,
        misses INTEGER NOT NULL,
        locked_until REAL
    );
    """,
]


class Database:
    """The server's database file, migrated to the current schema on open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                # executescript commits on its own; the version bump rides in the same script
                self._conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={number};\nCOMMIT;")
                log.info("db.migrated version=%d", number)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): committed on success, rolled back on error."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                # A failed COMMIT (a full disk) may leave the transaction open: every later write
                # would then fail, and a read on this connection would see rows that were never stored.
                if self._conn.in_transaction:
                    try:
                        self._conn.execute("ROLLBACK")
                    except sqlite3.Error as exc:  # the first error is the one to report
                        log.error("db.rollback_failed error=%s", exc)
                raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads (autocommit, one statement at a time is consistent)."""
        with self._lock:
            yield self._conn

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


def open_database(data_dir: Path) -> Database:
    """The database in ``data_dir`` (created mode 0700: it holds students' data); ``DataDirError`` if unusable."""
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return Database(data_dir / "server.db")
    except (OSError, sqlite3.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DataDirError(detail=f"{data_dir}: {reason}", dir=str(data_dir), reason=reason) from None
