"""Who calls the JSON API: FastAPI dependencies over the bearer token (and the console session).

A station's calls carry its token; the admin token is accepted wherever a
station token is; the bind call also takes no token at all (a student's phone).
The review calls also take a console session (``Gate``, kiosk/server/console_auth.py).
Each dependency returns the caller or raises ``Refused``, answered at the edge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kiosk.server.auth import is_admin
from kiosk.server.console_auth import REVIEW_ROLES, Gate, Principal
from kiosk.server.refusals import Refused

log = logging.getLogger(__name__)

#: the caller name of the admin token
ADMIN = "admin"

_bearer = HTTPBearer(auto_error=False, description="A station token, or the admin token.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def client_address(request: Request) -> str:
    """The caller's network address (behind a reverse proxy: as uvicorn's proxy headers set it)."""
    return request.client.host if request.client is not None else "-"


class Callers:
    """The API's callers, told apart by the admin token, the station tokens and the console's gate."""

    def __init__(self, admin_token: str, station_for: Callable[[str], str | None], gate: Gate) -> None:
        self._admin_token = admin_token
        self._station_for = station_for
        self._gate = gate

    def by_token(self, token: str) -> str | None:
        """``"admin"``, the station the token belongs to, or None (the edge's check, before a body is read)."""
        return ADMIN if is_admin(token, self._admin_token) else self._station_for(token)

    def _caller(self, creds: HTTPAuthorizationCredentials | None) -> str | None:
        """``"admin"``, a station id, or None for no token; refused for a token that is not valid."""
        if creds is None:
            return None
        who = self.by_token(creds.credentials)
        if who is None:
            log.info("auth.refused")
            raise Refused("unauthorized", "the token is not valid or was revoked")
        return who

    def station(self, creds: Credentials) -> str:
        """The calling station's id (or "admin"); refused without a valid token."""
        who = self._caller(creds)
        if who is None:
            raise Refused("unauthorized", "a bearer token is required")
        return who

    def admin(self, creds: Credentials) -> str:
        """Admin calls only: refused without a valid token ("unauthorized") and with a station's ("forbidden")."""
        if self.station(creds) != ADMIN:
            raise Refused("forbidden", "this call needs the admin token")
        return ADMIN

    def optional(self, creds: Credentials) -> str | None:
        """A station (or admin) when a token is given, None for an anonymous caller (a phone)."""
        return self._caller(creds)

    def reviewer(self, request: Request, creds: Credentials) -> Principal:
        """A console user who reviews (session cookie), or the admin token."""
        return self._gate.check(request, creds, REVIEW_ROLES)
