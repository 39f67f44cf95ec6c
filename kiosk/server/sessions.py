"""The console's session and CSRF rules, as pure functions (the database side is ``accounts``).

A session is a random token in an HttpOnly cookie; the server stores only its
sha256, so a copy of the database opens no session. Each session has its own
CSRF token (a synchronizer token): every form carries it in a hidden field and
every script call in the ``X-CSRF-Token`` header, and a request that changes
something without it is refused. The login form, which has no session yet,
uses a double-submit pair: a random cookie and the same value in the form.

A session ends after ``idle_s`` without a request or ``max_s`` after login,
whichever comes first. Repeated wrong passwords lock an account (and,
separately, the client address) for a while: ``after_miss`` says until when.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

SESSION_COOKIE = "kiosk_session"
LOGIN_COOKIE = "kiosk_login"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def new_token() -> str:
    """A fresh random token (session, CSRF or login nonce)."""
    return secrets.token_urlsafe(32)


def token_key(token: str) -> str:
    """The stored form of a session token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_match(expected: str | None, presented: str | None) -> bool:
    """Whether ``presented`` equals ``expected`` (constant time; never for an empty or missing one)."""
    if not expected or not presented:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8"))


@dataclass(frozen=True)
class SessionPolicy:
    """How long a console session lives."""

    idle_s: float = 3600.0
    max_s: float = 12 * 3600.0


def session_alive(created_ts: float, last_seen_ts: float, now_ts: float, policy: SessionPolicy) -> bool:
    """Whether a session made at ``created_ts`` and last used at ``last_seen_ts`` is still good at ``now_ts``."""
    return now_ts - last_seen_ts <= policy.idle_s and now_ts - created_ts <= policy.max_s


@dataclass(frozen=True)
class LockPolicy:
    """After ``max_misses`` wrong passwords in a row, no login for ``lock_s`` seconds."""

    max_misses: int = 5
    lock_s: float = 900.0


@dataclass(frozen=True)
class MissState:
    """Wrong passwords so far and the end of the lock (None: not locked)."""

    misses: int
    locked_until: float | None


def after_miss(misses: int, now_ts: float, policy: LockPolicy) -> MissState:
    """The state after one more wrong password; the count starts again once a lock is set."""
    misses += 1
    if misses >= policy.max_misses:
        return MissState(0, now_ts + policy.lock_s)
    return MissState(misses, None)


def locked(locked_until: float | None, now_ts: float) -> bool:
    """Whether a lock ending at ``locked_until`` still holds at ``now_ts``."""
    return locked_until is not None and now_ts < locked_until


def cookie_secure(request_scheme: str, public_url: str) -> bool:
    """Whether cookies get the Secure flag: the request came over https, or the server is published on https.

    Behind a TLS-terminating proxy the request itself is plain http, hence ``public_url``.
    """
    return request_scheme == "https" or urlsplit(public_url).scheme == "https"
