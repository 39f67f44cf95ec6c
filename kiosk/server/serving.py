"""How uvicorn serves the application: connection limits and timeouts from ``[server]``.

uvicorn bounds an idle keep-alive connection (``keep_alive_s``) and the number
of connections and requests at once (``max_connections``, answered 503 beyond),
but not the time a client may take to send a request's headers: a client that
opens a connection and sends half a request line would hold it, and its file
descriptor, for ever. ``header_timeout_protocol`` adds that deadline to
uvicorn's HTTP/1.1 protocol: a connection whose request headers are not
complete ``header_timeout_s`` after its first byte (or after it was opened) is
closed. The body's deadline is the edge middleware's (``body_timeout_s``,
kiosk/server/limits.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from kiosk.config import ServerSection

log = logging.getLogger(__name__)

#: largest request line plus headers, in bytes (h11's own default; stated so that it stays so)
MAX_HEADER_BYTES = 16 * 1024


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request headers do not arrive in time."""

    header_timeout_s = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the headers' clock as the connection opens."""
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        """Stop the clock once a request's headers are in; start it for the next request's."""
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            if self._header_timer is None and not self.transport.is_closing():
                self._arm_header_timer()
        else:
            self._disarm_header_timer()

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
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            log.info("connection.closed why=header_timeout")
            self.transport.close()


#: where worker processes find ``header_timeout_s`` (they get the protocol class by name, not a made class)
HEADER_TIMEOUT_ENV = "KIOSK_HEADER_TIMEOUT_S"


class WorkerHeaderTimeoutH11Protocol(HeaderTimeoutH11Protocol):
    """The same protocol for worker processes: uvicorn pickles its settings to start them, and only a
    class importable by name survives that, so the timeout comes from the environment the parent set."""

    @property
    def header_timeout_s(self) -> float:  # type: ignore[override]
        """``header_timeout_s`` as the parent process set it."""
        try:
            return float(os.environ.get(HEADER_TIMEOUT_ENV, ""))
        except ValueError:
            return HeaderTimeoutH11Protocol.header_timeout_s


def header_timeout_protocol(timeout_s: float) -> type[HeaderTimeoutH11Protocol]:
    """The protocol class closing connections whose headers take longer than ``timeout_s``."""
    return type("KioskH11Protocol", (HeaderTimeoutH11Protocol,), {"header_timeout_s": timeout_s})


def uvicorn_settings(section: ServerSection, *, workers: int = 1) -> dict[str, Any]:
    """Keyword arguments of ``uvicorn.Config`` for ``section``'s limits and timeouts.

    With more than one worker the header timeout travels in ``HEADER_TIMEOUT_ENV``, set here
    for the worker processes this process starts.
    """
    if workers > 1:
        os.environ[HEADER_TIMEOUT_ENV] = str(section.header_timeout_s)
    return {
        "http": WorkerHeaderTimeoutH11Protocol if workers > 1 else header_timeout_protocol(section.header_timeout_s),
        "limit_concurrency": section.max_connections,
        "timeout_keep_alive": section.keep_alive_s,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "proxy_headers": True,
        "forwarded_allow_ips": section.forwarded_allow_ips,
        "server_header": False,
    }
