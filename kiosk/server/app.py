"""The collection server's application: ``create_app(config)`` builds it from routers by area.

Paths, fields and status codes follow docs/architecture.md. Each area is a
router module that gets what it uses (books, blob store, clock, callers) as
arguments, and raises ``Refused`` for what it refuses; the one registry in
kiosk/server/problems.py answers those as problem+json:

- station API (kiosk/server/station_api.py, station_board.py, student_api.py)
- public calls and pages (public_api.py, bind_page.py, student_pages.py)
- review (review_api.py, console_api.py, and the console's pages in console.py)
- admin (admin_api.py)

Two pure ASGI middlewares stand at the edge: ``SecurityHeaders`` (outermost,
kiosk/server/headers.py) and ``EdgeGuard`` (kiosk/server/limits.py), which
checks tokens, body sizes, body deadlines and the bind rate limits before any
route reads a body. A route taking a body larger than ``[server]
max_json_bytes`` needs its rule in ``edge_routes``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from anyio import to_thread
from fastapi import FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from kiosk.config import ServerConfig
from kiosk.server import (
    admin_api,
    bind_page,
    console,
    console_api,
    problems,
    public_api,
    review_api,
    station_api,
    station_board,
    student_api,
    student_pages,
)
from kiosk.server.binding import CodeChecker
from kiosk.server.callers import Callers
from kiosk.server.db import ROUTE_THREADS
from kiosk.server.headers import SecurityHeaders
from kiosk.server.limits import EdgeGuard, RateLimits, Route
from kiosk.server.ratelimit import RateLimiter
from kiosk.server.retention import purge_periodically
from kiosk.server.state import ServerState, open_state
from kiosk.server.status import StatusReader
from kiosk.server.upload_route import UploadPath, UploadReceiver

log = logging.getLogger(__name__)

API = "/api/v1"
#: room for the metadata part and multipart framing on top of the two files
_BODY_SLACK = 64_000
#: the status of up to 1000 record ids at once
_STATUS_BODY = 128_000
_UUID = "[0-9A-Fa-f-]{32,36}"


def edge_routes(config: ServerConfig) -> list[Route]:
    """The edge's rules: body limits, tokens checked before the body, and the rate-limited bind routes."""
    json_max = config.server.max_json_bytes
    return [
        Route("PUT", f"{API}/records/{_UUID}", 2 * config.server.max_photo_bytes + _BODY_SLACK, auth="station"),
        # the status poll checks its token itself, in the one hand-over to a thread that reads the statuses
        # (kiosk/server/status.py): its body is small, and a second hand-over would double its waits
        Route("POST", f"{API}/records/status", _STATUS_BODY),
        Route("POST", f"{API}/bind", json_max, auth="optional", rate_limited=True),
        Route("POST", bind_page.PATH, bind_page.MAX_BODY, rate_limited=True, page=True),
        Route("POST", f"{API}/review/[^/]+", json_max, auth="admin"),
        Route("POST", f"{API}/batches", json_max, auth="admin"),
        Route("POST", f"{API}/tokens", json_max, auth="admin"),
        Route("DELETE", f"{API}/tokens/[^/]+", json_max, auth="admin"),
        Route("DELETE", f"{API}/bind/locks/[^/]+", json_max, auth="admin"),
    ]


class ServerApp(FastAPI):
    """The FastAPI application with the security headers outside everything, the error handler included."""

    docs_paths: tuple[str, ...] = ()

    def build_middleware_stack(self) -> ASGIApp:
        """The usual stack, wrapped in ``SecurityHeaders``."""
        return SecurityHeaders(super().build_middleware_stack(), docs_paths=self.docs_paths)


def create_app(config: ServerConfig, *, admin_token: str | None = None, codebook: CodeChecker | None = None,
               clock: Callable[[], datetime] | None = None, purge_every_s: float | None = 3600.0,
               on_record_received: Callable[[str], None] | None = None,
               state: ServerState | None = None) -> FastAPI:
    """The server's FastAPI application for ``config``.

    Keyword arguments replace parts for tests and in-process use: the admin token
    (instead of reading the token file), the code checker, the clock, the purge
    interval (None: no background purge), a hook called while an upload is in
    flight, or an already opened ``state``.
    """
    st = state or open_state(config, admin_token=admin_token, codebook=codebook, clock=clock,
                             on_record_received=on_record_received)
    section = config.server

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # as many threads run the routes as the pool keeps connections: more would only wait for
        # the GIL and open connections beyond the pool (costly on PostgreSQL) to wait on the disk
        to_thread.current_default_thread_limiter().total_tokens = ROUTE_THREADS
        task = asyncio.create_task(purge_periodically(st.maintain, purge_every_s)) if purge_every_s else None
        log.info("server.started data_dir=%s", section.data_dir)
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # the interactive docs load their scripts from a CDN: off unless asked for; the schema is always served
    app = ServerApp(title="Graduation photo collection server", version="1", lifespan=lifespan,
                    description="Reference collection server of the capture stations.",
                    docs_url="/docs" if section.api_docs else None, redoc_url="/redoc" if section.api_docs else None)
    app.docs_paths = ("/docs", "/redoc") if section.api_docs else ()
    app.state.server = st
    problems.install_handlers(app)
    callers = Callers(st.admin_token, st.tokens.station_for, st.gate, st.tokens.remembered)
    receiver = UploadReceiver(records=st.records, batches=st.batches, db=st.db, photos=st.photos, clock=st.clock,
                              capture_skew=timedelta(hours=section.capture_skew_hours))
    # added first, so it stands inside the edge guard: the upload's own path (kiosk/server/upload_route.py)
    app.add_middleware(UploadPath, receiver=receiver)
    app.add_middleware(EdgeGuard, routes=edge_routes(config), default_max_body=section.max_json_bytes,
                       caller=callers.by_token, known_caller=callers.known, body_timeout_s=section.body_timeout_s,
                       rate_limits=RateLimits(RateLimiter(section.bind_rate_per_minute),
                                              RateLimiter(section.bind_rate_per_minute_station)),
                       page_refusal=bind_page.edge_refusal)
    app.mount("/static", StaticFiles(packages=[("kiosk.server", "static")]), name="static")
    include_routers(app, st, callers, StatusReader(st.db, st.admin_token), receiver)
    return app


def include_routers(app: FastAPI, st: ServerState, callers: Callers, statuses: StatusReader,
                    receiver: UploadReceiver) -> None:
    """Every area's router, each given the parts of ``st`` it uses (and the status polls' and uploads' own)."""
    section = st.config.server
    silent_s = section.station_silent_minutes * 60
    # first: the stations' calls are most of the traffic, and routes are tried in order (no other
    # router has a path and method of these)
    app.include_router(station_api.make_router(receiver=receiver, statuses=statuses, batches=st.batches,
                                               binder=st.binder, callers=callers, clock=st.clock))
    # before review_api: ``POST /review/claim`` must not be read as a review of record "claim"
    app.include_router(station_board.make_router(st.stations, st.clock, callers.station, problems.responses))
    app.include_router(console_api.make_router(st.db, st.desk, st.stations, st.gate, clock=st.clock,
                                               silent_s=silent_s, problem_responses=problems.responses))
    app.include_router(public_api.make_router(records=st.records, clock=st.clock))
    app.include_router(review_api.make_router(records=st.records, desk=st.desk, photos=st.photos, callers=callers,
                                              clock=st.clock))
    app.include_router(admin_api.make_router(batches=st.batches, tokens=st.tokens, binder=st.binder,
                                             callers=callers, clock=st.clock))
    app.include_router(bind_page.make_router(st.binder, st.clock))
    app.include_router(console.make_router(st.accounts, st.desk, st.stations, st.db, st.clock,
                                           public_url=section.public_url, timezone=section.timezone,
                                           silent_s=silent_s, login_max_age_s=3600))
    app.mount(console.STATIC, console.static_files(), name="console-static")
    app.include_router(student_pages.make_router(student_pages.pages_of(st)))
    app.include_router(student_api.make_router(st.students, callers.station, st.clock), prefix=API)
