"""Content-addressed photo files: a photo lives at ``photos/ab/<sha256>.jpg``.

Naming a file by its hash makes writing idempotent (a replayed upload finds its
file already there) and lets a reader check a file against its name. A file is
written to a temporary name, fsynced, renamed and its directory fsynced, so a
crash leaves either the whole photo or none.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path


class PhotoStore:
    """Photo files under ``root``, named by their sha256."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        """Where the photo with hash ``sha256`` lives."""
        return self.root / sha256[:2] / f"{sha256}.jpg"

    def put(self, data: bytes) -> str:
        """Store ``data`` durably; its sha256 (a no-op when already stored)."""
        sha = hashlib.sha256(data).hexdigest()
        final = self.path(sha)
        if final.exists() and final.stat().st_size == len(data):
            # Fresh mtime: the retention sweep only removes unnamed files older than its cutoff.
            os.utime(final)
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

    def exists(self, sha256: str) -> bool:
        """Whether the photo ``sha256`` is stored."""
        return self.path(sha256).exists()

    def delete(self, sha256: str) -> bool:
        """Remove the photo ``sha256``; whether a file was there."""
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True
