"""Who calls the JSON API: FastAPI dependencies over the bearer token (and the console session).

A station's calls carry its token; the admin token is accepted wherever a
station token is; the bind call also takes no token at all (a student's phone).
The review calls also take a console session (``Gate``, kiosk/server/console_auth.py).
Each dependency returns the caller or raises ``Refused``, answered at the edge.
The dependencies are coroutines: a token the edge guard already checked for the
request is taken from there (no second look-up, no trip to a worker thread); any
other is looked up in a worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from kiosk.server.auth import is_admin
from kiosk.server.console_auth import REVIEW_ROLES, Gate, Principal
from kiosk.server.limits import verified_caller
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

    def __init__(self, admin_token: str, station_for: Callable[[str], str | None], gate: Gate,
                 remembered: Callable[[str], str | None] | None = None) -> None:
        self._admin_token = admin_token
        self._station_for = station_for
        self._gate = gate
        self._remembered = remembered

    def by_token(self, token: str) -> str | None:
        """``"admin"``, the station the token belongs to, or None (the edge's check, before a body is read)."""
        return ADMIN if is_admin(token, self._admin_token) else self._station_for(token)

    def known(self, token: str) -> str | None:
        """``"admin"`` or the station of a token found valid moments ago; None when the database must
        be asked (``by_token``). Never blocks: the edge calls it on the event loop."""
        if is_admin(token, self._admin_token):
            return ADMIN
        return self._remembered(token) if self._remembered is not None else None

    async def _caller(self, request: Request, creds: HTTPAuthorizationCredentials | None) -> str | None:
        """``"admin"``, a station id, or None for no token; refused for a token that is not valid.

        A token the edge already checked for this request is not looked up again.
        """
        if creds is None:
            return None
        who = verified_caller(request.scope, creds.credentials)
        if who is None:
            who = await run_in_threadpool(self.by_token, creds.credentials)
        if who is None:
            log.info("auth.refused")
            raise Refused("unauthorized", "the token is not valid or was revoked")
        return who

    async def station(self, request: Request, creds: Credentials) -> str:
        """The calling station's id (or "admin"); refused without a valid token."""
        who = await self._caller(request, creds)
        if who is None:
            raise Refused("unauthorized", "a bearer token is required")
        return who

    async def admin(self, request: Request, creds: Credentials) -> str:
        """Admin calls only: refused without a valid token ("unauthorized") and with a station's ("forbidden")."""
        if await self.station(request, creds) != ADMIN:
            raise Refused("forbidden", "this call needs the admin token")
        return ADMIN

    async def bearer(self, creds: Credentials) -> str:
        """The bearer token as sent, not yet checked: for a route that checks it itself, on its own
        threads (the status poll, kiosk/server/status.py); refused without a token."""
        if creds is None:
            raise Refused("unauthorized", "a bearer token is required")
        return creds.credentials

    async def optional(self, request: Request, creds: Credentials) -> str | None:
        """A station (or admin) when a token is given, None for an anonymous caller (a phone)."""
        return await self._caller(request, creds)

    def reviewer(self, request: Request, creds: Credentials) -> Principal:
        """A console user who reviews (session cookie), or the admin token."""
        return self._gate.check(request, creds, REVIEW_ROLES)
