"""The store's typed errors, and the mapping of SQLite's and the disk's failures onto them.

Every public call of the store raises these (with a strings key for the person)
rather than a bare ``sqlite3.Error`` or ``OSError``, so the screen and the sync
daemon can say what happened and carry on.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

from kiosk import durable
from kiosk.errors import KioskError

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class StoreError(KioskError):
    """The record store cannot do what was asked; the message says what to do."""

    default_key = "store.failed"


class DiskFull(StoreError):
    """The disk (or quota) is full: nothing was stored."""

    default_key = "store.disk_full"


class UnknownRecord(StoreError):
    """No record has this id."""

    default_key = "store.unknown_record"


class UnknownTicket(StoreError):
    """No record has this claim ticket."""

    default_key = "store.unknown_ticket"


class AlreadyBound(StoreError):
    """The record already carries another collection code."""

    default_key = "store.already_bound"


class DatabaseDamaged(StoreError):
    """The station's database is damaged: capture stops until it is recovered (``kiosk records recover``)."""

    default_key = "store.damaged"
    #: one of ``kiosk.store.damage.KINDS``
    kind: str = "malformed"

    @classmethod
    def of(cls, kind: str, detail: str, path: Path | str) -> DatabaseDamaged:
        """The error for damage of ``kind`` (a ``store.damage.<kind>`` string) to the database at ``path``."""
        from kiosk.text import Key

        error = cls(detail=detail, what=Key(f"store.damage.{kind}"), path=str(path))
        error.kind = kind
        return error


#: what SQLite says when the file it reads is not (or no longer) a whole database
_DAMAGE_TEXTS = ("not a database", "malformed", "no such table")


def os_error(exc: OSError, step: str) -> StoreError:
    """The typed error of a failed file operation (``DiskFull`` when the disk is full)."""
    log.error("store.os_error step=%s errno=%s", step, exc.errno)
    if exc.errno in durable.FULL_ERRNOS:
        return DiskFull(detail=f"{step}: {exc.strerror}")
    return StoreError("store.write_failed", f"{step}: {exc.strerror or exc}")


def db_error(exc: sqlite3.Error, step: str) -> StoreError:
    """The typed error of a failed SQLite call: full, busy, conflict, or failed."""
    text = str(exc)
    log.error("store.db_error step=%s error=%s", step, text)
    if isinstance(exc, sqlite3.OperationalError) and "full" in text:
        return DiskFull(detail=f"{step}: {text}")
    if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
        return StoreError("store.busy", f"{step}: {text}")
    if isinstance(exc, sqlite3.DatabaseError) and any(t in text for t in _DAMAGE_TEXTS):
        return DatabaseDamaged.of("malformed", f"{step}: {text}", "kiosk.db")
    if isinstance(exc, sqlite3.IntegrityError):
        return StoreError("store.conflict", f"{step}: {text}")
    return StoreError("store.failed", f"{step}: {text}")


def typed(func: Callable[P, R]) -> Callable[P, R]:
    """Let ``func`` (a store call) raise only ``StoreError``s for SQLite's and the disk's failures."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except sqlite3.Error as exc:
            raise db_error(exc, func.__name__) from exc
        except OSError as exc:
            raise os_error(exc, func.__name__) from exc

    return wrapper
