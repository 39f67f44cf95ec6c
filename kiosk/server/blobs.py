"""Photo storage behind one small interface: content-addressed files (the default) or the database.

Both stores name a photo by its sha256, so writing is idempotent (a replayed
upload finds its photo already there) and a reader can check a photo against its
name. Both keep, in the database, when each photo was last stored, so retention
asks "which photos are older than the cutoff?" with one index range scan
(``older_than``) instead of walking a folder of a million files.

- ``files`` (``[server] blob_store = "files"``): ``photos/ab/<sha256>.jpg`` under
  the data folder, written to a temporary name, fsynced, renamed and its folder
  fsynced, so a crash leaves the whole photo or none. The table ``blob_files``
  indexes them; its row is written before the file, so a crash never leaves a
  file that retention cannot find (a row without its file is harmless: deleting
  it removes the row).
- ``database`` (``blob_store = "database"``): the table ``blobs`` holds the bytes
  (``bytea`` on PostgreSQL, ``BLOB`` on SQLite): one backup holds everything,
  and every server process sees every photo without a shared folder. An upload
  stores its photos in the transaction of its record: one commit makes both
  durable, and a refused record leaves no photo behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, delete, select

from kiosk.server.db import Database
from kiosk.server.tables import blob_files, blobs

log = logging.getLogger(__name__)

#: the ``[server] blob_store`` choices
BLOB_STORES = ("files", "database")
_INDEXED_MARK = ".indexed"


class BlobStore(Protocol):
    """Where photos live, by their sha256."""

    #: whether ``put`` may join the caller's transaction (``conn``): the photo is then stored
    #: exactly when the caller's rows are, by one commit
    joins_transaction: bool

    def put(self, data: bytes, conn: Connection | None = None) -> str:
        """Store ``data`` durably (refreshing its time when already stored); its sha256.

        With ``conn`` (only where ``joins_transaction``), in that transaction.
        """

    def get(self, sha256: str) -> bytes | None:
        """The stored bytes of ``sha256``, or None."""

    def exists(self, sha256: str) -> bool:
        """Whether ``sha256`` is stored."""

    def delete(self, sha256: str) -> bool:
        """Remove ``sha256``; whether it was there."""

    def older_than(self, cutoff_ts: float, limit: int) -> list[str]:
        """Up to ``limit`` hashes last stored at or before ``cutoff_ts`` (epoch seconds), oldest first."""


def open_blob_store(kind: str, db: Database, data_dir: Path) -> BlobStore:
    """The store ``kind`` (one of ``BLOB_STORES``) over ``db`` and ``data_dir``."""
    if kind == "database":
        return DatabaseBlobStore(db)
    return FileBlobStore(data_dir / "photos", db)


class DatabaseBlobStore:
    """Photos as rows of the ``blobs`` table."""

    joins_transaction = True

    def __init__(self, db: Database) -> None:
        self._db = db
        self._row = db.upsert(blobs, ["sha256"], None, ["stored_ts"])

    def put(self, data: bytes, conn: Connection | None = None) -> str:
        """Store ``data`` in ``conn``'s transaction, or in one of its own; its sha256."""
        sha = hashlib.sha256(data).hexdigest()
        values = {"sha256": sha, "stored_ts": time.time(), "size": len(data), "data": data}
        if conn is not None:
            conn.execute(self._row, values)
            return sha
        with self._db.write() as own:
            own.execute(self._row, values)
        return sha

    def get(self, sha256: str) -> bytes | None:
        """The bytes of ``sha256``, or None."""
        with self._db.read() as conn:
            data = conn.execute(select(blobs.c.data).where(blobs.c.sha256 == sha256)).scalar()
        return None if data is None else bytes(data)

    def exists(self, sha256: str) -> bool:
        """Whether a row holds ``sha256``."""
        with self._db.read() as conn:
            return conn.execute(select(blobs.c.sha256).where(blobs.c.sha256 == sha256)).first() is not None

    def delete(self, sha256: str) -> bool:
        """Delete the row of ``sha256``; whether there was one."""
        with self._db.write() as conn:
            return conn.execute(delete(blobs).where(blobs.c.sha256 == sha256)
                                .returning(blobs.c.sha256)).first() is not None

    def older_than(self, cutoff_ts: float, limit: int) -> list[str]:
        """Hashes stored at or before ``cutoff_ts``, oldest first (the ``stored_ts`` index)."""
        with self._db.read() as conn:
            return [str(s) for s in conn.execute(select(blobs.c.sha256).where(blobs.c.stored_ts <= cutoff_ts)
                                                 .order_by(blobs.c.stored_ts).limit(limit)).scalars()]


class FileBlobStore:
    """Photo files under ``root`` named by their sha256, indexed by time in ``blob_files``."""

    #: the index row is committed before the file is written, so never in the caller's transaction
    joins_transaction = False

    def __init__(self, root: Path, db: Database) -> None:
        self.root = root
        self._db = db
        self._index_row = db.upsert(blob_files, ["sha256"], None, ["stored_ts"])
        root.mkdir(parents=True, exist_ok=True)
        if not (root / _INDEXED_MARK).exists():
            self._index_existing()

    def _index_existing(self) -> None:
        """Index the files written before the index existed (once per photo folder)."""
        found = 0
        with self._db.write() as conn:
            for path in root_files(self.root):
                with contextlib.suppress(FileNotFoundError):
                    conn.execute(self._db.insert_ignoring(blob_files, ["sha256"]).values(
                        sha256=path.stem, stored_ts=path.stat().st_mtime, size=path.stat().st_size))
                    found += 1
        (self.root / _INDEXED_MARK).touch()
        log.info("blobs.indexed files=%d", found)

    def path(self, sha256: str) -> Path:
        """Where the photo with hash ``sha256`` lives."""
        return self.root / sha256[:2] / f"{sha256}.jpg"

    def put(self, data: bytes, conn: Connection | None = None) -> str:
        """Index then write ``data`` durably; its sha256 (only the time is refreshed when already stored).

        ``conn`` is not used: the index row is committed on its own, before the file is written.
        """
        sha = hashlib.sha256(data).hexdigest()
        with self._db.single() as own:  # one statement, committed before the file is written
            own.execute(self._index_row, {"sha256": sha, "stored_ts": time.time(), "size": len(data)})
        final = self.path(sha)
        if final.exists() and final.stat().st_size == len(data):
            return sha
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{sha}.{os.getpid()}.{id(data)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return sha

    def get(self, sha256: str) -> bytes | None:
        """The file's bytes, or None."""
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, sha256: str) -> bool:
        """Whether the file of ``sha256`` is there."""
        return self.path(sha256).exists()

    def delete(self, sha256: str) -> bool:
        """Remove the file, then its index row; whether a file was there."""
        try:
            self.path(sha256).unlink()
            removed = True
        except FileNotFoundError:
            removed = False
        with self._db.write() as conn:
            conn.execute(delete(blob_files).where(blob_files.c.sha256 == sha256))
        return removed

    def older_than(self, cutoff_ts: float, limit: int) -> list[str]:
        """Hashes indexed at or before ``cutoff_ts``, oldest first."""
        with self._db.read() as conn:
            return [str(s) for s in conn.execute(
                select(blob_files.c.sha256).where(blob_files.c.stored_ts <= cutoff_ts)
                .order_by(blob_files.c.stored_ts).limit(limit)).scalars()]


def root_files(root: Path) -> list[Path]:
    """The photo files under ``root`` (used once, to index a folder made before the index)."""
    return sorted(root.glob("*/*.jpg"))
