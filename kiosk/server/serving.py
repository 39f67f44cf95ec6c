"""How uvicorn serves the application: its HTTP protocol, connection limits and timeouts from ``[server]``.

The protocol is uvicorn's httptools one (the C parser llhttp): parsing an
upload's request costs it about 6 µs of CPU, where the pure-Python h11 took about
120 µs. uvicorn's event loop is uvloop where it is installed (``loop="auto"``).

uvicorn bounds an idle keep-alive connection (``keep_alive_s``) and the number
of connections and requests at once (``max_connections``, answered 503 beyond),
but neither the time a client may take to send a request's headers nor, with
httptools, their size: a client that opens a connection and sends half a request
line would hold it, and its file descriptor, for ever, and one sending endless
headers would fill memory. ``HeaderTimeoutProtocol`` adds both bounds: a
connection whose request headers are not complete ``header_timeout_s`` after
the request's first byte (or after the connection was opened) is closed, and
one whose headers pass ``MAX_HEADER_BYTES`` is answered 431 and closed. The
body's deadline is the edge middleware's (``body_timeout_s``,
kiosk/server/limits.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from kiosk.config import ServerSection

log = logging.getLogger(__name__)

#: largest request line plus headers, in bytes
MAX_HEADER_BYTES = 16 * 1024
_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
              b"content-length: 32\r\nconnection: close\r\n\r\nRequest header fields too large.")


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing connections whose request headers are too slow or too large."""

    header_timeout_s = 10.0
    _header_timer: asyncio.TimerHandle | None = None
    #: between a request's first byte and the end of its headers
    _in_headers = False
    _header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the headers' clock as the connection opens."""
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        """Parse ``data``; refuse headers that have grown past ``MAX_HEADER_BYTES``."""
        super().data_received(data)
        if self._in_headers:
            # the bytes of a chunk that began a request are counted whole: a little early, never late
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
                log.info("connection.closed why=header_too_large")
                self._disarm_header_timer()
                self.transport.write(_TOO_LARGE)
                self.transport.close()

    def on_message_begin(self) -> None:
        """A request's first byte: its headers' clock and count start (the clock may already run)."""
        super().on_message_begin()
        self._in_headers = True
        self._header_bytes = 0
        if self._header_timer is None:
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        """The headers are in: stop the clock."""
        self._in_headers = False
        self._disarm_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the clock."""
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        # a connection opened and left silent is the keep-alive timeout's once a request was served;
        # before any request, or with a request's headers half-sent, it is this clock's
        if (self._in_headers or self.cycle is None) and not self.transport.is_closing():
            log.info("connection.closed why=header_timeout")
            self.transport.close()


#: where worker processes find ``header_timeout_s`` (they get the protocol class by name, not a made class)
HEADER_TIMEOUT_ENV = "KIOSK_HEADER_TIMEOUT_S"


class WorkerHeaderTimeoutProtocol(HeaderTimeoutProtocol):
    """The same protocol for worker processes: uvicorn pickles its settings to start them, and only a
    class importable by name survives that, so the timeout comes from the environment the parent set."""

    @property
    def header_timeout_s(self) -> float:  # type: ignore[override]
        """``header_timeout_s`` as the parent process set it."""
        try:
            return float(os.environ.get(HEADER_TIMEOUT_ENV, ""))
        except ValueError:
            return HeaderTimeoutProtocol.header_timeout_s


def header_timeout_protocol(timeout_s: float) -> type[HeaderTimeoutProtocol]:
    """The protocol class closing connections whose headers take longer than ``timeout_s``."""
    return type("KioskHttpProtocol", (HeaderTimeoutProtocol,), {"header_timeout_s": timeout_s})


def uvicorn_settings(section: ServerSection, *, workers: int = 1) -> dict[str, Any]:
    """Keyword arguments of ``uvicorn.Config`` for ``section``'s limits and timeouts.

    With more than one worker the header timeout travels in ``HEADER_TIMEOUT_ENV``, set here
    for the worker processes this process starts.
    """
    if workers > 1:
        os.environ[HEADER_TIMEOUT_ENV] = str(section.header_timeout_s)
    return {
        "http": WorkerHeaderTimeoutProtocol if workers > 1 else header_timeout_protocol(section.header_timeout_s),
        "loop": "auto",  # uvloop when installed, else asyncio's own
        "limit_concurrency": section.max_connections,
        "timeout_keep_alive": section.keep_alive_s,
        "proxy_headers": True,
        "forwarded_allow_ips": section.forwarded_allow_ips,
        "server_header": False,
    }
