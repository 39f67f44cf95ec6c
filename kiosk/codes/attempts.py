"""Locking a code on this station after too many wrong last-four entries.

The count lives in a small SQLite file in the station's data dir so that
pulling the plug does not reset it. Codes are known there only by a hash of
the student uid: the file holds no personal data.
"""

from __future__ import annotations

import hashlib
import logging
import math
import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from kiosk.codes.collection_code import CodeLocked
from kiosk.config import CodesSection

log = logging.getLogger(__name__)

FILE_NAME = "attempts.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    code_hash TEXT PRIMARY KEY,
    misses INTEGER NOT NULL,
    last_miss REAL NOT NULL,
    locked_until REAL NOT NULL
)
"""


def _ts(now: datetime) -> float:
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.timestamp()


def _hash(code_uid: str) -> str:
    return hashlib.sha256(code_uid.encode("utf-8")).hexdigest()


class AttemptLock:
    """Wrong last-four entries per code, persisted; ``max_attempts`` misses lock it for ``lock_minutes``.

    Time always comes in as ``now`` so tests and the demo can drive the clock.
    Misses older than the lock period are forgotten, so a student who got it
    wrong twice yesterday starts afresh today.
    """

    def __init__(self, path: Path | str, max_attempts: int = 3, lock_minutes: float = 10.0) -> None:
        self.path = Path(path)
        self.max_attempts = max(1, int(max_attempts))
        self.lock_s = float(lock_minutes) * 60.0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            # A damaged file must not keep the station from starting: it is set aside
            # (the counts in it are lost, as after a lock period) and a new one begins.
            aside = self.path.with_name(f"{self.path.name}.damaged-{int(time.time())}")
            log.warning("code.attempts_file_damaged error=%s kept=%s", type(exc).__name__, aside.name)
            for suffix in ("-wal", "-shm", "-journal"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            self.path.replace(aside)
            self._open()

    def _open(self) -> None:
        with closing(self._connect()) as db, db:
            db.execute(_SCHEMA)
            db.execute("SELECT code_hash, misses, last_miss, locked_until FROM attempts LIMIT 1").fetchall()

    @classmethod
    def from_settings(cls, settings: CodesSection, data_dir: Path | str) -> AttemptLock:
        """The station's lock file in ``data_dir`` with the limits of ``settings``."""
        return cls(Path(data_dir) / FILE_NAME, settings.max_attempts, settings.lock_minutes)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=5.0)
        db.execute("PRAGMA synchronous=FULL")
        return db

    def _row(self, db: sqlite3.Connection, key: str) -> tuple[int, float, float] | None:
        row = db.execute("SELECT misses, last_miss, locked_until FROM attempts WHERE code_hash=?",
                         (key,)).fetchone()
        return None if row is None else (int(row[0]), float(row[1]), float(row[2]))

    def check(self, code_uid: str, now: datetime) -> None:
        """Raise ``CodeLocked`` (with the minutes left) while the code is locked here."""
        t = _ts(now)
        with closing(self._connect()) as db:
            row = self._row(db, _hash(code_uid))
        if row is not None and row[2] > t:
            minutes = max(1, math.ceil((row[2] - t) / 60.0))
            raise CodeLocked(detail=f"minutes={minutes}", minutes=minutes)

    def miss(self, code_uid: str, now: datetime) -> int:
        """Count a wrong entry; the tries left (0: the code is now locked)."""
        t, key = _ts(now), _hash(code_uid)
        with closing(self._connect()) as db, db:
            db.execute("BEGIN IMMEDIATE")
            row = self._row(db, key)
            if row is not None and row[2] > t:
                return 0
            misses = 1
            if row is not None and t - row[1] < self.lock_s and row[2] == 0.0:
                misses = row[0] + 1
            locked_until = t + self.lock_s if misses >= self.max_attempts else 0.0
            db.execute("INSERT OR REPLACE INTO attempts (code_hash, misses, last_miss, locked_until) "
                       "VALUES (?, ?, ?, ?)", (key, 0 if locked_until else misses, t, locked_until))
        if locked_until:
            log.warning("code.locked minutes=%.1f", self.lock_s / 60.0)
            return 0
        return self.max_attempts - misses

    def clear(self, code_uid: str) -> None:
        """Forget the misses of a code (after a right entry)."""
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM attempts WHERE code_hash=?", (_hash(code_uid),))
