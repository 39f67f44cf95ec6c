"""Who is calling the console's API and pages: a signed-in user (session cookie) or the admin token.

``Gate.principal`` is the one check: a bearer token must be the admin token (a
station token may not review); without one, the session cookie must name a
live session. A request that changes something on a session must carry the
session's CSRF token (header ``X-CSRF-Token`` or form field ``csrf_token``),
which a page from another site cannot know. Refusals are problem+json.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kiosk.server.accounts import Accounts
from kiosk.server.auth import is_admin
from kiosk.server.refusals import Refused
from kiosk.server.sessions import CSRF_HEADER, SESSION_COOKIE, tokens_match

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REVIEW_ROLES = ("reviewer", "coordinator", "admin")
COORDINATE_ROLES = ("coordinator", "admin")

_bearer = HTTPBearer(auto_error=False, description="The admin token (or sign in on /console/login).")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@dataclass(frozen=True)
class Principal:
    """The caller: a console user, or the admin token (``via`` "token", name "admin")."""

    name: str
    role: str
    via: str
    csrf: str | None = None


class Gate:
    """Turns a request into a ``Principal`` or a refusal."""

    def __init__(self, accounts: Accounts, admin_token: str, clock: Callable[[], datetime],
                 station_for: Callable[[str], str | None]) -> None:
        self.accounts = accounts
        self._admin_token = admin_token
        self._clock = clock
        self._station_for = station_for

    def principal(self, request: Request, creds: HTTPAuthorizationCredentials | None) -> Principal:
        """The caller of ``request``; 401 without a valid session or admin token, 403 for a station's token
        or a bad CSRF token."""
        if creds is not None:
            if is_admin(creds.credentials, self._admin_token):
                return Principal("admin", "admin", "token")
            if self._station_for(creds.credentials) is not None:
                log.info("console.refused why=station_token")
                raise Refused("forbidden", "a station token may not review; sign in or send the admin token")
            log.info("console.refused why=token")
            raise Refused("unauthorized", "only the admin token or a console session may call this")
        cookie = request.cookies.get(SESSION_COOKIE)
        session = self.accounts.session(cookie, self._clock())
        if session is None:
            log.info("console.refused why=%s", "session_expired" if cookie else "no_session")
            raise Refused("session-expired" if cookie else "unauthorized",
                          "sign in again" if cookie else "sign in on /console/login or send the admin token")
        if request.method not in SAFE_METHODS and not tokens_match(session.csrf, request.headers.get(CSRF_HEADER)):
            log.warning("console.refused why=csrf")
            raise Refused("csrf", f"the {CSRF_HEADER} header is missing or wrong")
        return Principal(session.user.name, session.user.role, "session", session.csrf)

    def require(self, *roles: str) -> Callable[..., Principal]:
        """A dependency: the caller, who must have one of ``roles`` (403 otherwise)."""

        def dependency(request: Request, creds: Bearer) -> Principal:
            return self.check(request, creds, roles)

        return dependency

    def check(self, request: Request, creds: HTTPAuthorizationCredentials | None, roles: tuple[str, ...]) -> Principal:
        """The caller of ``request``, who must have one of ``roles`` (403 otherwise)."""
        who = self.principal(request, creds)
        if who.role not in roles:
            log.info("console.refused why=role")
            raise Refused("forbidden", f"this call needs the role {' or '.join(roles)}")
        return who
