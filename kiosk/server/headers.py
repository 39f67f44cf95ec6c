"""Security headers on every answer of the server.

``SecurityHeaders`` is a pure ASGI middleware wrapped around the whole
application (outside even the handler of unexpected errors), so every response
carries ``X-Content-Type-Options: nosniff``: a stored photo is never read by a
browser as anything but the type it is served as. HTML pages also get
``X-Frame-Options: DENY`` and a Content-Security-Policy that allows only the
server's own scripts, styles and images (``'self'``), no inline script, no
framing, and forms posting only back to the server. A response that sets its
own policy (the opt-in API docs) keeps it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

#: the policy of the server's HTML pages
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
               "base-uri 'none'")
#: the policy of the interactive API docs (served only with ``[server] api_docs = true``): their
#: scripts and styles come from a CDN and start inline
DOCS_POLICY = ("default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
               "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
               "https://fastapi.tiangolo.com https://cdn.redoc.ly; worker-src blob:; connect-src 'self'; "
               "frame-ancestors 'none'; base-uri 'none'")


def page_headers(headers: list[tuple[bytes, bytes]], *, docs: bool = False) -> list[tuple[bytes, bytes]]:
    """``headers`` of a response with the security headers added (those already set are kept)."""
    names = {name.lower() for name, _ in headers}
    out = list(headers)
    if b"x-content-type-options" not in names:
        out.append((b"x-content-type-options", b"nosniff"))
    content_type = next((value for name, value in headers if name.lower() == b"content-type"), b"")
    if content_type.lower().startswith(b"text/html"):
        if b"x-frame-options" not in names:
            out.append((b"x-frame-options", b"DENY"))
        if b"content-security-policy" not in names:
            out.append((b"content-security-policy", (DOCS_POLICY if docs else PAGE_POLICY).encode()))
        if b"referrer-policy" not in names:
            out.append((b"referrer-policy", b"no-referrer"))
    return out


class SecurityHeaders:
    """Adds the security headers to every HTTP response of ``app``."""

    def __init__(self, app: ASGIApp, *, docs_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        #: paths of the interactive API docs, when they are served
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        """Run ``app``, adding the headers to its response's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope.get("path", "") in self.docs_paths

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": page_headers(list(message.get("headers", [])), docs=docs)}
            await send(message)

        await self.app(scope, receive, send_with_headers)
