"""The server inside another process, on a loopback port: the demo, the sync tests, the benchmark.

``EmbeddedServer(config).start()`` runs uvicorn in a thread on 127.0.0.1 and
returns once ``/api/v1/health`` answers. Tokens and batches are set up directly
on the server's database, so a test needs no admin HTTP calls to get going.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType

import uvicorn

from kiosk.batch import Batch
from kiosk.config import ServerConfig
from kiosk.server.app import create_app
from kiosk.server.auth import new_token, read_admin_token
from kiosk.server.binding import CodeChecker
from kiosk.server.serving import uvicorn_settings
from kiosk.server.state import ServerState, open_state

log = logging.getLogger(__name__)


class EmbeddedServer:
    """The collection server in a background thread on ``127.0.0.1:port`` (0: any free port).

    The admin token is read from ``[server] admin_token_file`` when that file
    exists, else a fresh one is made for this run (``admin_token``).
    ``codebook`` and ``clock`` replace the code checker and the clock, as in
    ``create_app``.
    """

    def __init__(self, config: ServerConfig, port: int = 0, *, codebook: CodeChecker | None = None,
                 clock: Callable[[], datetime] | None = None, purge_every_s: float | None = None,
                 on_record_received: Callable[[str], None] | None = None) -> None:
        self.config = config
        token_file = config.server.admin_token_file
        self.admin_token = read_admin_token(token_file) if token_file.exists() else new_token()
        self.state: ServerState = open_state(config, admin_token=self.admin_token, codebook=codebook,
                                             clock=clock, on_record_received=on_record_received)
        self.app = create_app(config, state=self.state, purge_every_s=purge_every_s)
        self._port = port
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    @property
    def port(self) -> int:
        """The port listened on (known once started)."""
        return self._sock.getsockname()[1] if self._sock is not None else self._port

    def start(self, timeout_s: float = 10.0) -> str:
        """Start serving and wait until healthy; the base URL (``http://127.0.0.1:PORT``)."""
        if self._thread is not None:
            return self.base_url
        # proto must say TCP: asyncio sets TCP_NODELAY on accepted connections only then, and without
        # it every keep-alive answer waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        self._sock = sock
        self.base_url = f"http://127.0.0.1:{self.port}"
        server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", access_log=False,
                                               lifespan="on", timeout_graceful_shutdown=2,
                                               **uvicorn_settings(self.config.server)))
        self._server = server
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                        name="embedded-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._healthy():
                log.info("embedded_server.started port=%d", self.port)
                return self.base_url
            if not self._thread.is_alive():
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("the embedded server did not become healthy")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/api/v1/health", timeout=1) as answer:
                return bool(json.load(answer).get("status") == "ok")
        except (OSError, urllib.error.URLError, ValueError):
            return False

    def stop(self) -> None:
        """Stop serving and close the database; a no-op when not running."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            if self._thread.is_alive():
                log.warning("embedded_server.stop_timeout")
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None
        self.state.db.close()

    def issue_station_token(self, station_id: str) -> str:
        """A new bearer token for ``station_id`` (replacing its previous one)."""
        return self.state.tokens.issue(station_id, datetime.now(UTC), rotate=True)

    def revoke_station_token(self, station_id: str) -> bool:
        """Revoke the token of ``station_id``; whether it had one."""
        return self.state.tokens.revoke(station_id, datetime.now(UTC))

    def add_batch(self, batch: Batch) -> None:
        """Create or replace ``batch``."""
        self.state.batches.put(batch, datetime.now(UTC))

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
