"""Durable file writes: a file is either wholly on disk after a power cut, or absent.

The order is the one SQLite's own documentation and every crash-consistency
study insist on: write a temporary file in the target directory, fsync it,
rename it over the final name, then fsync the directory so the rename itself
survives. Callers commit any database row only after this returns.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from kiosk.userfiles import check_output

#: errno values that mean "the disk (or the quota) is full"
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def fsync_dir(directory: Path) -> None:
    """Make the directory's entries (creations, renames, unlinks) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # a short write of nothing is a full disk in disguise
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def write_file(path: Path, data: bytes, *, mode: int = 0o600, sync_dir: bool = True) -> None:
    """Write ``data`` to ``path`` durably and atomically.

    A ``path`` that exists and is not a regular file raises
    ``kiosk.userfiles.NotRegularFile`` before anything is written. On any
    failure the temporary file is removed and the ``OSError`` is raised
    again; ``path`` is then either absent or its previous content. With
    ``sync_dir=False`` the caller fsyncs the directory itself (after several
    files, to pay for it once).
    """
    # never rename over a device, a FIFO or a socket (``-o /dev/full`` as root replaced the node)
    check_output(path)
    # A name of its own per write: two processes replacing one file (the screen and the sync
    # daemon caching a batch) would otherwise truncate and rename each other's half-written file.
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        try:
            os.fchmod(fd, mode)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    if sync_dir:
        fsync_dir(path.parent)


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary file left by an interrupted ``write_file``."""
    return name.startswith(".") and name.endswith(".tmp")
