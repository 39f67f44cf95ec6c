"""The server's edge: who may send a body, how large it may be, how fast it must come.

``EdgeGuard`` is a pure ASGI middleware in front of every route. For each
request it finds the route's ``Route`` rule (method and path) and, before the
application reads a single byte of the body:

1. refuses a declared ``Content-Length`` over the route's limit (413);
2. checks the bearer token of routes that need one (401 without a valid one,
   403 for a station's token on an admin route), so an anonymous upload is
   refused before its body is read; the caller it found stays in the request's
   scope (``verified_caller``), so the route does not look the token up again;
3. takes one attempt from the client address's rate limit on rate-limited
   routes (the bind endpoints), a higher one for a valid station token (429
   with ``Retry-After``).

Then it hands the application a ``receive`` that counts the body as it
streams, chunked or not: the first chunk past the limit ends the request with
413, and a body not complete within ``body_timeout_s`` of the request's start
ends it with 408. Nothing past the limit is handed on, so nothing past it is
written to memory or disk. Every refusal closes the connection
(``Connection: close``), so the server does not go on draining an unread body.

Routes without a rule get ``default_max_body`` (JSON-sized) and no token check
here (their own dependencies check it after a body that small): a route that
takes a larger body must add a rule.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
from anyio.to_thread import run_sync
from starlette.datastructures import Headers
from starlette.responses import Response

from kiosk.server import problems
from kiosk.server.ratelimit import RateLimiter, RepeatGate, retry_after
from kiosk.server.refusals import Refused

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: ``auth`` of a route: none checked here, a token optional (checked when given), a station's, the admin's
Auth = Literal["none", "optional", "station", "admin"]
#: where a request's scope keeps the caller of the bearer token this guard checked: (token, caller)
VERIFIED_CALLER = "kiosk.verified_caller"
#: what a refusal page is made from: status, strings key of the reason, its parameters, extra headers
PageRefusal = Callable[[int, str, dict[str, object], dict[str, str]], Response]
_CLOSE = {"Connection": "close"}


@dataclass(frozen=True)
class Route:
    """The edge's rule for one route: method, path (a regular expression matched whole) and limits."""

    method: str
    path: str
    max_body: int
    auth: Auth = "none"
    #: attempts count against the client address's rate limit
    rate_limited: bool = False
    #: refusals are pages (HTML), not problem+json
    page: bool = False
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pattern", re.compile(self.path))

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule is the one for ``method`` ``path``."""
        return method == self.method and self._pattern.fullmatch(path) is not None


@dataclass(frozen=True)
class RateLimits:
    """Per-address rate limits of the rate-limited routes: anonymous callers and station tokens."""

    anonymous: RateLimiter
    station: RateLimiter


class _Refused(Exception):
    """The body broke a limit while it streamed; the guard answers instead of the application."""

    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(status)


def bearer_token(headers: Headers) -> str | None:
    """The token of an ``Authorization: Bearer`` header, None without one (any other scheme included)."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def verified_caller(scope: Scope, token: str) -> str | None:
    """The caller of ``token`` when this guard checked that very token for this request, else None."""
    checked = scope.get("state", {}).get(VERIFIED_CALLER)
    return checked[1] if checked is not None and checked[0] == token else None


def client_address(scope: Scope) -> str:
    """The client's address (the proxy's ``X-Forwarded-For`` once uvicorn has applied it)."""
    client = scope.get("client")
    return str(client[0]) if client else "-"


def client_network(address: str) -> str:
    """The network of ``address`` as logged (IPv4 /24, IPv6 /48): enough to block, not to name a person."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "-"
    return str(ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 48}", strict=False))


class EdgeGuard:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp, *, routes: Sequence[Route], default_max_body: int,
                 caller: Callable[[str], str | None], rate_limits: RateLimits | None = None,
                 body_timeout_s: float = 120.0, page_refusal: PageRefusal | None = None,
                 admin: str = "admin", known_caller: Callable[[str], str | None] | None = None) -> None:
        self.app = app
        self.routes = tuple(routes)
        self.default_max_body = default_max_body
        #: the caller of a bearer token: ``admin``, a station id, or None for a token that is not valid
        self.caller = caller
        #: the caller of a token when known without blocking (a cache), else None: then ``caller`` is
        #: asked, in a worker thread
        self.known_caller = known_caller
        self.rate_limits = rate_limits
        self.body_timeout_s = body_timeout_s
        self.page_refusal = page_refusal
        self.admin = admin
        self._log_gate = RepeatGate()

    def route(self, method: str, path: str) -> Route | None:
        """The rule for ``method`` ``path``, if there is one."""
        return next((r for r in self.routes if r.matches(method, path)), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then run the application with a counted, timed ``receive``."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = self.route(scope["method"], scope["path"])
        limit = route.max_body if route is not None else self.default_max_body
        refusal = await self._check(scope, route, limit)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self._run(scope, receive, send, route, limit)

    async def _check(self, scope: Scope, route: Route | None, limit: int) -> Response | None:
        """A refusal for what the headers alone tell, or None to go on."""
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if length is not None and length.strip().isdigit() and int(length) > limit:
            return self._too_large(scope, route, limit)
        if route is None:
            return None
        who: str | None = None
        token_refused = False
        if route.auth != "none":
            token = bearer_token(headers)
            if token is None and route.auth in ("station", "admin"):
                return self._refuse(scope, route, Refused("unauthorized", "a bearer token is required"))
            if token is not None:
                who = self.known_caller(token) if self.known_caller is not None else None
                if who is None:
                    who = await run_sync(self.caller, token)
                token_refused = who is None
                if who is not None:
                    # the route's own dependency takes the caller from here instead of looking again
                    scope.setdefault("state", {})[VERIFIED_CALLER] = (token, who)
        if route.rate_limited and self.rate_limits is not None:
            # a wrong token counts as an anonymous attempt: made-up tokens do not get round the limit
            limiter = self.rate_limits.station if who is not None else self.rate_limits.anonymous
            wait = limiter.take(client_address(scope))
            if wait > 0:
                seconds = retry_after(wait)
                return self._refuse(scope, route, Refused("rate-limited",
                                                          f"too many attempts from this address; retry in {seconds} s",
                                                          retry_after_s=seconds),
                                    by="station" if who is not None else "phone")
        if token_refused:
            return self._refuse(scope, route, Refused("unauthorized", "the token is not valid or was revoked"))
        if route.auth == "admin" and who != self.admin:
            return self._refuse(scope, route, Refused("forbidden", "this call needs the admin token"))
        return None

    async def _run(self, scope: Scope, receive: Receive, send: Send, route: Route | None, limit: int) -> None:
        received = 0
        body_done = False
        refused: _Refused | None = None
        started = False
        deadline = anyio.current_time() + self.body_timeout_s

        async def counted_receive() -> Message:
            nonlocal received, body_done, refused
            if body_done:
                return await receive()
            message: Message | None = None
            with anyio.move_on_after(max(0.0, deadline - anyio.current_time())):
                message = await receive()
            if message is None:
                refused = _Refused(408)
                raise refused
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = _Refused(413)
                    raise refused
                body_done = not message.get("more_body", False)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused is not None:
                return  # the application's answer to a broken body is replaced by the guard's
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if refused is None:
                raise
        if refused is not None and not started:
            if refused.status == 413:
                answer = self._too_large(scope, route, limit)
            else:
                answer = self._refuse(scope, route, Refused(
                    "timeout", f"the request body did not arrive within {self.body_timeout_s:g} s"))
            await answer(scope, receive, send)

    def _too_large(self, scope: Scope, route: Route | None, limit: int) -> Response:
        return self._refuse(scope, route, Refused("too-large", f"the request body is larger than {limit} bytes"),
                            mb=max(1, limit // 1_000_000))

    def _refuse(self, scope: Scope, route: Route | None, refused: Refused, *, by: str = "",
                mb: int | None = None) -> Response:
        """The refusal (problem+json, or the route's page) and its one, rate-limited, log line.

        ``mb``: the size limit in megabytes, for a page's words (not sent in a problem body).
        """
        kind = problems.problem_type(refused.kind)
        status, slug = kind.status, kind.slug
        key = f"{status}|{scope['path'] if route is None else route.path}|{client_address(scope)}"
        held_back = self._log_gate.passes(key)
        if held_back is not None:
            log.info("edge.refused status=%d path=%s net=%s%s%s", status, scope["path"],
                     client_network(client_address(scope)),
                     f" by={by}" if by else "", f" held_back={held_back}" if held_back else "")
        all_headers = {**problems.refusal_headers(refused), **_CLOSE}
        if route is not None and route.page and self.page_refusal is not None:
            params: dict[str, object] = {"mb": mb} if mb is not None else {}
            if refused.retry_after_s is not None:
                params["minutes"] = max(1, math.ceil(refused.retry_after_s / 60))
            return self.page_refusal(status, slug, params, all_headers)
        return problems.response(status, slug, refused.detail, headers=all_headers, **refused.extra)
