"""Who may call: the admin token (from a 0600 file) and per-station bearer tokens (stored hashed).

A station token is 32 random bytes, shown once when issued; the database keeps
only its sha256, so a copy of the database does not let anyone upload.

Station ids are unique server-wide; a server shared by many campuses names its
stations within their campus (``<campus>.<station>``, e.g. ``pku-haidian.station-01``).
Issuing a token for a station id whose token is live is refused (``StationActive``)
unless the caller asks to rotate it: one campus issuing ``station-01`` never silently
revokes another campus's ``station-01``. A revoked station id may be issued again.

A valid token's station is remembered for ``TOKEN_CACHE_S`` seconds (every
request carries a token: a database read each time was a tenth of an upload's
cost). Revoking or rotating through a server process takes effect in it at once;
in the other worker processes, and after ``kiosk server token revoke``, within
``TOKEN_CACHE_S`` seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
from datetime import datetime
from pathlib import Path

from sqlalchemy import bindparam, select, update

from kiosk.errors import KioskError
from kiosk.server.db import Database
from kiosk.server.tables import tokens
from kiosk.server.ttlcache import TtlCache

log = logging.getLogger(__name__)

#: the station of a live token's hash (built once: every request with a token runs it)
_STATION_OF = select(tokens.c.station_id).where(tokens.c.token_sha256 == bindparam("sha"),
                                                tokens.c.revoked_at.is_(None))
#: how long a server process trusts a token it found valid without asking the database again
TOKEN_CACHE_S = 5.0


class StationActive(KioskError):
    """A token is live for this station id: issuing another would revoke it (rotate to mean it)."""

    default_key = "server.station_active"


class AdminTokenError(KioskError):
    """The admin token file cannot be used."""

    default_key = "server.admin_token_unreadable"


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh random bearer token."""
    return secrets.token_urlsafe(32)


def create_admin_token_file(path: Path) -> str:
    """Write a new admin token to ``path`` (mode 0600, never overwriting); the token."""
    token = new_token()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise AdminTokenError("server.admin_token_exists", str(path), file=str(path)) from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(token + "\n")
    log.info("admin_token.created path=%s", path)
    return token


def read_admin_token(path: Path) -> str:
    """The admin token from ``path``; ``AdminTokenError`` unless it is a non-empty file of mode 0600."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise AdminTokenError("server.admin_token_missing", str(path), file=str(path)) from None
    except OSError as exc:
        raise AdminTokenError(detail=f"{path}: {exc.strerror}", file=str(path)) from None
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise AdminTokenError("server.admin_token_mode", f"{path} mode={mode:o}", file=str(path),
                              mode=f"{mode:o}")
    try:
        token = path.read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise AdminTokenError(detail=f"{path}: {exc}", file=str(path)) from None
    if len(token) < 16:
        raise AdminTokenError("server.admin_token_short", str(path), file=str(path))
    return token


def is_admin(presented: str | None, admin_token: str) -> bool:
    """Whether ``presented`` is the admin token (constant-time)."""
    return presented is not None and hmac.compare_digest(presented.encode(), admin_token.encode())


class StationTokens:
    """Issue, revoke and check station tokens."""

    def __init__(self, db: Database, *, cache_s: float = TOKEN_CACHE_S) -> None:
        self._db = db
        #: token hash -> station, for valid tokens only
        self._valid: TtlCache[str, str] = TtlCache(cache_s)

    def issue(self, station_id: str, now: datetime, *, rotate: bool = False) -> str:
        """A new token for ``station_id``; ``StationActive`` if it has a live one, unless ``rotate``.

        One transaction decides: the insert of a new id, or the update of a revoked
        one, or (``rotate``) the replacement of the live one; two admins issuing the
        same new id at once get one token and one refusal.
        """
        token = new_token()
        values = {"station_id": station_id, "token_sha256": hash_token(token), "issued_at": now.isoformat(),
                  "revoked_at": None}
        self._forget(station_id)
        with self._db.write() as conn:
            if rotate:
                conn.execute(self._db.upsert(tokens, ["station_id"], values,
                                             ["token_sha256", "issued_at", "revoked_at"]))
            elif conn.execute(self._db.insert_ignoring(tokens, ["station_id"]).values(**values)
                              .returning(tokens.c.station_id)).first() is None and conn.execute(
                    update(tokens).where(tokens.c.station_id == station_id, tokens.c.revoked_at.is_not(None))
                    .values(**values).returning(tokens.c.station_id)).first() is None:
                log.warning("token.refused_active station=%s", station_id)
                raise StationActive(detail=station_id, station=station_id)
        self._forget(station_id)
        log.info("token.%s station=%s", "rotated" if rotate else "issued", station_id)
        return token

    def revoke(self, station_id: str, now: datetime) -> bool:
        """Revoke the token of ``station_id``; whether the station had one."""
        self._forget(station_id)
        with self._db.write() as conn:
            conn.execute(update(tokens).where(tokens.c.station_id == station_id, tokens.c.revoked_at.is_(None))
                         .values(revoked_at=now.isoformat()))
            known = conn.execute(select(tokens.c.station_id).where(tokens.c.station_id == station_id)).first() \
                is not None
        self._forget(station_id)  # again: a look-up running meanwhile may have kept the old answer
        if known:
            log.info("token.revoked station=%s", station_id)
        return known

    def is_live(self, station_id: str) -> bool:
        """Whether ``station_id`` has a token that is not revoked."""
        with self._db.read() as conn:
            return conn.execute(select(tokens.c.station_id).where(
                tokens.c.station_id == station_id, tokens.c.revoked_at.is_(None))).first() is not None

    def station_for(self, token: str) -> str | None:
        """The station whose live token is ``token``, or None (remembered for ``TOKEN_CACHE_S`` when valid)."""
        sha = hash_token(token)
        known = self._valid.get(sha)
        if known is not None:
            return known
        with self._db.read() as conn:
            station = conn.execute(_STATION_OF, {"sha": sha}).scalar()
        if station is None:
            return None
        self._valid.put(sha, str(station))
        return str(station)

    def remembered(self, token: str) -> str | None:
        """The station of ``token`` when this process found it valid in the last ``TOKEN_CACHE_S``
        seconds, else None (no database: callable on the event loop)."""
        return self._valid.get(hash_token(token))

    def _forget(self, station_id: str) -> None:
        """Drop what this process remembers of ``station_id``'s tokens."""
        self._valid.forget(lambda _, station: station == station_id)
