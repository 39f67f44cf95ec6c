"""Files a person names on the command line: read and written only when they are regular files.

A path typed by an operator may be anything: a FIFO (reading it blocks for
ever), a device (``-o /dev/full`` run as root would have its node replaced by
a JPEG through the rename of an atomic write), a socket. Every command reads
such paths with ``read_input`` (which opens without blocking and looks at what
it opened before reading) and writes them only through ``check_output`` /
``open_output``, which refuse anything that exists and is not a regular file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from pathlib import Path

from kiosk.errors import KioskError


class NotRegularFile(KioskError):
    """The path is a device, a FIFO, a socket or a folder: it is neither read nor replaced."""

    default_key = "file.not_regular"


class FileTooLarge(KioskError):
    """The input file is larger than the command reads."""

    default_key = "file.too_large"


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "device"),
                       (stat.S_ISBLK, "device"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special"


def _refuse(path: Path | str, mode: int) -> NotRegularFile:
    return NotRegularFile(detail=f"{_kind(mode)}", path=str(path))


def read_input(path: Path | str, max_bytes: int) -> bytes:
    """The content of the regular file at ``path``; ``NotRegularFile`` for anything else.

    Opened without blocking (a FIFO with no writer would block the open
    itself), then checked with ``fstat`` on what was actually opened, so a
    file swapped after a check cannot slip through. More than ``max_bytes``
    raises ``FileTooLarge``; an unreadable file raises ``OSError`` as before.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(path, info.st_mode)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > max_bytes:
        raise FileTooLarge(detail=f"over {max_bytes} bytes", path=str(path), max_kb=max_bytes // 1000)
    return b"".join(chunks)


def read_input_text(path: Path | str, max_bytes: int = 10_000_000, encoding: str = "utf-8") -> str:
    """``read_input`` decoded; ``UnicodeDecodeError`` as ``Path.read_text`` would raise it."""
    return read_input(path, max_bytes).decode(encoding)


def check_output(path: Path | str) -> None:
    """Refuse to write ``path`` when it exists and is not a regular file (a symlink to one is fine)."""
    for probe in (os.lstat, os.stat):
        try:
            info = probe(path)
        except FileNotFoundError:
            return
        except OSError:
            return  # the write itself will say what is wrong
        if probe is os.lstat and stat.S_ISLNK(info.st_mode):
            continue
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(path, info.st_mode)
        return


def open_output(path: Path | str, flags: int, mode: int = 0o600) -> int:
    """``os.open`` for writing that refuses (``NotRegularFile``) anything but a regular file, never blocking."""
    check_output(path)
    fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC, mode)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(path, info.st_mode)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        raise
    return fd
