"""The HTTP API of the collection server: ``create_app(config)`` builds the FastAPI application.

Paths, fields and status codes follow docs/architecture.md. Station calls carry
``Authorization: Bearer <station token>``; admin calls the admin token (which is
also accepted wherever a station token is). The bind call also takes no token at
all: a student's phone binds its own code, rate-limited per ticket.

Two pure ASGI middlewares stand at the edge: ``SecurityHeaders`` (outermost,
kiosk/server/headers.py) and ``EdgeGuard`` (kiosk/server/limits.py), which
checks tokens, body sizes, body deadlines and the bind rate limits before any
route reads a body. A route taking a body larger than ``[server]
max_json_bytes`` needs its rule in ``edge_routes``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, FastAPI, File, Form, Header, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from kiosk.batch import Batch
from kiosk.config import ConfigError, ServerConfig
from kiosk.server import bind_page, console, console_api, problems, station_board, student_api, student_pages
from kiosk.server.accounts import Accounts
from kiosk.server.auth import AdminTokenError, StationActive, StationTokens, is_admin, read_admin_token
from kiosk.server.batches import BatchBook, load_batches_file
from kiosk.server.binding import Binder, BindLimits, CodeChecker, KioskCodes
from kiosk.server.blobs import BlobStore, open_blob_store
from kiosk.server.console_auth import REVIEW_ROLES, Gate, Principal
from kiosk.server.db import Database, open_database
from kiosk.server.headers import SecurityHeaders
from kiosk.server.limits import EdgeGuard, RateLimits, Route
from kiosk.server.notify import Notifier, make_notifier
from kiosk.server.outbox import Outbox
from kiosk.server.problems import Problem
from kiosk.server.ratelimit import RateLimiter
from kiosk.server.records import RecordBook, Upload
from kiosk.server.retention import PurgeReport, discard_orphans, purge, purge_periodically, sweep_orphans
from kiosk.server.review_desk import ReviewDesk
from kiosk.server.schema import (
    BatchModel,
    BindRequest,
    BindResponse,
    Health,
    ProblemDoc,
    RecordAck,
    RecordMetadata,
    RecordStatus,
    ReviewAction,
    ReviewQueue,
    ReviewResult,
    Revoked,
    StatusRequest,
    StatusResponse,
    TokenRequest,
    TokenResponse,
    Unlocked,
)
from kiosk.server.station_board import StationBoard
from kiosk.server.students import StudentBook
from kiosk.server.upload_checks import check_capture_time

log = logging.getLogger(__name__)

API = "/api/v1"
ADMIN = "admin"
#: room for the metadata part and multipart framing on top of the two files
_BODY_SLACK = 64_000
#: the status of up to 1000 record ids at once
_STATUS_BODY = 128_000
_UUID = "[0-9A-Fa-f-]{32,36}"


@dataclass
class ServerState:
    """Everything the routes share: the database and the books over it, the admin token, the clock."""

    config: ServerConfig
    db: Database
    photos: BlobStore
    records: RecordBook
    batches: BatchBook
    tokens: StationTokens
    binder: Binder
    admin_token: str
    clock: Callable[[], datetime]
    accounts: Accounts
    desk: ReviewDesk
    stations: StationBoard
    gate: Gate
    students: StudentBook
    #: the collection days' time zone (``[server] timezone``)
    zone: ZoneInfo
    #: review results for students' phones; None when no channel is configured
    outbox: Outbox | None = None

    def purge(self, *, dry_run: bool = False) -> PurgeReport:
        """Run the retention purge now (records and photos past ``retention_days``)."""
        now = self.clock()
        days = self.config.server.retention_days
        report = purge(self.db, self.photos, now, days, dry_run=dry_run)
        report.photos += sweep_orphans(self.db, self.photos, now, days, dry_run=dry_run)
        if not dry_run:
            self.accounts.forget_sessions(now)
            self.desk.forget_claims(now)
        return report

    def maintain(self) -> PurgeReport:
        """The periodic run: confirm the approved photos of ended batches, send notices, purge."""
        self.students.auto_confirm(self.clock(), self.zone)
        if self.outbox is not None:
            self.outbox.dispatch()
        return self.purge()


def open_state(config: ServerConfig, *, admin_token: str | None = None, codebook: CodeChecker | None = None,
               clock: Callable[[], datetime] | None = None,
               on_record_received: Callable[[str], None] | None = None,
               notifier: Notifier | None = None) -> ServerState:
    """Open the server's data (database, photos, batches file) for ``config``.

    ``admin_token`` defaults to the contents of ``[server] admin_token_file``
    (which must have mode 0600); ``codebook`` to ``kiosk.codes`` with ``[codes]``;
    ``notifier`` to the channel ``[server] notifier`` names.
    """
    section = config.server
    zone = time_zone(section.timezone)
    notifier = notifier or make_notifier(section)
    token = admin_token if admin_token is not None else read_admin_token(section.admin_token_file)
    if len(token) < 16:
        raise AdminTokenError("server.admin_token_short", "given admin token", file="-")
    db = open_database(section.data_dir, section.database)
    photos = open_blob_store(section.blob_store, db, section.data_dir)
    batches = BatchBook(db)
    now_fn = clock or (lambda: datetime.now(UTC))
    if section.batches_file:
        for batch in load_batches_file(Path(section.batches_file)):
            batches.put(batch, now_fn())
    binder = Binder(db, batches, codebook or KioskCodes(config.codes),
                    BindLimits(section.bind_max_misses, section.bind_lock_minutes,
                               section.bind_client_max_misses, section.bind_station_max_misses))
    records = RecordBook(db, photos, section.max_photo_bytes, on_record_received)
    records.outbox = Outbox(db, notifier, now_fn) if notifier is not None else None
    accounts = Accounts.for_settings(db, section)
    tokens = StationTokens(db)
    return ServerState(config=config, db=db, photos=photos, records=records, batches=batches,
                       tokens=tokens, binder=binder, admin_token=token, clock=now_fn, accounts=accounts,
                       desk=ReviewDesk(db, records, section.review_claim_minutes * 60), stations=StationBoard(db),
                       gate=Gate(accounts, token, now_fn, tokens.station_for),
                       students=StudentBook(db, max_misses=section.bind_max_misses,
                                            lock_minutes=section.bind_lock_minutes),
                       zone=zone, outbox=records.outbox)


def time_zone(name: str) -> ZoneInfo:
    """The zone ``[server] timezone`` names; ``ConfigError`` for a name the system does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(detail=f"[server] timezone: unknown zone {name!r}", file="server.toml",
                          setting="server.timezone", expected="an IANA zone name such as Asia/Shanghai") from None


_bearer = HTTPBearer(auto_error=False, description="A station token, or the admin token.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.server
    return state


def _caller(state: ServerState, creds: HTTPAuthorizationCredentials | None) -> str | None:
    """``"admin"``, a station id, or None for no token; 401 for a token that is not valid."""
    if creds is None:
        return None
    if is_admin(creds.credentials, state.admin_token):
        return ADMIN
    station = state.tokens.station_for(creds.credentials)
    if station is None:
        log.info("auth.refused")
        raise Problem(401, "unauthorized", "the token is not valid or was revoked",
                      headers={"WWW-Authenticate": "Bearer"})
    return station


def station_auth(request: Request, creds: Credentials) -> str:
    """The calling station's id (or "admin"); 401 without a valid token."""
    who = _caller(_state(request), creds)
    if who is None:
        raise Problem(401, "unauthorized", "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    return who


def admin_auth(request: Request, creds: Credentials) -> str:
    """Admin calls only: 401 without a valid token, 403 with a station's."""
    who = station_auth(request, creds)
    if who != ADMIN:
        raise Problem(403, "forbidden", "this call needs the admin token")
    return who


def optional_auth(request: Request, creds: Credentials) -> str | None:
    """A station (or admin) when a token is given, None for an anonymous caller (a phone)."""
    return _caller(_state(request), creds)


def edge_routes(config: ServerConfig) -> list[Route]:
    """The edge's rules: body limits, tokens checked before the body, and the rate-limited bind routes."""
    json_max = config.server.max_json_bytes
    return [
        Route("PUT", f"{API}/records/{_UUID}", 2 * config.server.max_photo_bytes + _BODY_SLACK, auth="station"),
        Route("POST", f"{API}/records/status", _STATUS_BODY, auth="station"),
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
def client_address(request: Request) -> str:
    """The caller's network address (behind a reverse proxy: as uvicorn's proxy headers set it)."""
    return request.client.host if request.client is not None else "-"


def reviewer_auth(request: Request, creds: Credentials) -> Principal:
    """A console user who reviews (session cookie), or the admin token; 401/403 otherwise."""
    return _state(request).gate.check(request, creds, REVIEW_ROLES)


def _problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ProblemDoc, "content": {problems.PROBLEM_JSON: {}}} for code in codes}


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

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = None
        if purge_every_s:
            task = asyncio.create_task(purge_periodically(st.maintain, purge_every_s))
        log.info("server.started data_dir=%s", config.server.data_dir)
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    section = config.server
    # the interactive docs load their scripts from a CDN: off unless asked for; the schema is always served
    app = ServerApp(title="Graduation photo collection server", version="1", lifespan=lifespan,
                    description="Reference collection server of the capture stations.",
                    docs_url="/docs" if section.api_docs else None, redoc_url="/redoc" if section.api_docs else None)
    app.docs_paths = ("/docs", "/redoc") if section.api_docs else ()
    app.state.server = st
    problems.install_handlers(app)

    def token_caller(token: str) -> str | None:
        return ADMIN if is_admin(token, st.admin_token) else st.tokens.station_for(token)

    app.add_middleware(EdgeGuard, routes=edge_routes(config), default_max_body=section.max_json_bytes,
                       caller=token_caller, body_timeout_s=section.body_timeout_s,
                       rate_limits=RateLimits(RateLimiter(section.bind_rate_per_minute),
                                              RateLimiter(section.bind_rate_per_minute_station)),
                       page_refusal=bind_page.edge_refusal)
    app.mount("/static", StaticFiles(packages=[("kiosk.server", "static")]), name="static")

    # before the routes below: ``POST /review/claim`` must not be read as a review of record "claim"
    silent_s = config.server.station_silent_minutes * 60
    app.include_router(station_board.make_router(st.stations, st.clock, station_auth, _problem_responses))
    app.include_router(console_api.make_router(st.db, st.desk, st.stations, st.gate, clock=st.clock,
                                               silent_s=silent_s, problem_responses=_problem_responses))

    @app.get(f"{API}/health", response_model=Health, tags=["public"])
    def health() -> Health:
        """The server is up; its clock (stations compare theirs with it)."""
        return Health(status="ok", time=st.clock())

    @app.get(f"{API}/batches/{{feature_code}}", response_model=BatchModel, tags=["station"],
             responses=_problem_responses(401, 404))
    def get_batch(feature_code: str, who: Annotated[str, Depends(station_auth)]) -> JSONResponse:
        """The batch (collection day) with this feature code."""
        batch = st.batches.get(feature_code)
        if batch is None:
            raise Problem(404, "unknown-batch", "no batch with this feature code")
        # served as stored: a batch added in-process skipped the API's checks, and must not turn into a 500
        return JSONResponse(batch.to_json())

    @app.put(f"{API}/records/{{record_id}}", response_model=RecordAck, status_code=201, tags=["station"],
             responses={200: {"model": RecordAck, "description": "identical replay"},
                        **_problem_responses(400, 401, 409, 413, 422)})
    def put_record(
        *,
        record_id: uuid.UUID,
        response: Response,
        who: Annotated[str, Depends(station_auth)],
        metadata: Annotated[str, Form(description="the record's metadata, JSON text")],
        photo: Annotated[UploadFile, File(description="the standard photo, image/jpeg")],
        original: Annotated[UploadFile | None, File(description="the head-and-shoulders original")] = None,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> RecordAck:
        """Receive a record: 201 the first time, 200 with the same body on an identical replay."""
        if idempotency_key is None or idempotency_key.strip().lower() != str(record_id):
            raise Problem(400, "idempotency-key", "the Idempotency-Key header must equal the record id")
        try:
            meta = RecordMetadata.model_validate_json(metadata)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "metadata"
            raise Problem(422, "invalid-metadata", f"{where}: {first.get('msg', 'invalid')}",
                          errors=[{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", "")}
                                  for e in exc.errors()]) from None
        if meta.record_id != record_id:
            raise Problem(422, "invalid-metadata", "metadata.record_id must equal the record id in the path")
        check_capture_time(meta.captured_at, st.batches.get(meta.batch), st.clock(),
                           timedelta(hours=section.capture_skew_hours))
        limit = config.server.max_photo_bytes
        photo_data = photo.file.read(limit + 1)
        original_data = original.file.read(limit + 1) if original is not None else None
        try:
            ack, created = st.records.accept(Upload(meta, photo_data, original_data), who, st.clock(),
                                             station_id=None if who == ADMIN else who)
        except Problem as refused:
            if refused.status == 422:  # refused after its files were written: none of them may stay
                discard_orphans(st.db, st.photos, [hashlib.sha256(data).hexdigest()
                                                   for data in (photo_data, original_data) if data is not None])
            raise
        response.status_code = 201 if created else 200
        return ack

    @app.get(f"{API}/records/{{record_id}}", response_model=RecordStatus, tags=["public"],
             responses={200: {"content": {"text/html": {}}}, **_problem_responses(404, 422)})
    def record_page(record_id: uuid.UUID, accept: Annotated[str | None, Header()] = None,
                    lang: Annotated[str | None, Query(max_length=8)] = None) -> Any:
        """One record's review status, for the student's phone (the station's status QR); HTML for browsers."""
        found = st.records.statuses([str(record_id)])[0]
        if "text/html" in (accept or ""):
            return student_pages.record_status_page(found, lang)
        if found.status == "unknown":
            raise Problem(404, "unknown-record", "no record with this id")
        return found

    @app.post(f"{API}/records/status", response_model=StatusResponse, tags=["station"],
              responses=_problem_responses(401, 422))
    def record_status(body: StatusRequest, who: Annotated[str, Depends(station_auth)]) -> StatusResponse:
        """Review status and queue position of many records at once (a station's own records only)."""
        return StatusResponse(records=st.records.statuses(body.ids, station=None if who == ADMIN else who))

    @app.get(f"{API}/records/{{record_id}}/photo", tags=["review"], response_class=Response,
             responses={200: {"content": {"image/jpeg": {}}}, **_problem_responses(401, 403, 404)})
    def record_photo(record_id: uuid.UUID, who: Annotated[Principal, Depends(reviewer_auth)]) -> Response:
        """The record's photo, for a reviewer (console session or admin token)."""
        sha = st.records.photo_sha256(str(record_id))
        data = st.photos.get(sha) if sha is not None else None
        if data is None:
            raise Problem(404, "unknown-record", "no record with this id")
        return Response(data, media_type="image/jpeg")

    @app.post(f"{API}/bind", response_model=BindResponse, tags=["station", "public"],
              responses=_problem_responses(401, 404, 409, 422, 429, 503))
    def bind(body: BindRequest, request: Request,
             who: Annotated[str | None, Depends(optional_auth)]) -> BindResponse:
        """Bind a collection code to the codeless record holding the ticket (station, or phone without a token)."""
        try:
            return st.binder.bind(body.ticket, body.code_payload, body.id_last4, trusted=who is not None,
                                  now=st.clock(), client=client_address(request), station=who)
        except Problem as refused:
            # the binder logs each refusal it decides on; only a mistyped ticket is refused before it looks
            refused.logged = refused.slug != "bad-ticket"
            raise

    @app.delete(f"{API}/bind/locks/{{ticket}}", response_model=Unlocked, tags=["admin"],
                responses=_problem_responses(401, 403, 422))
    def unlock_ticket(ticket: str, who: Annotated[str, Depends(admin_auth)]) -> Unlocked:
        """Lift a ticket's bind lock (staff, once they have seen the student); forgets its wrong guesses."""
        return Unlocked(unlocked=st.binder.unlock(ticket))

    @app.get(f"{API}/review/queue", response_model=ReviewQueue, tags=["admin"],
             responses=_problem_responses(401, 403))
    def review_queue(who: Annotated[str, Depends(admin_auth)],
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                     offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                     batch: Annotated[str | None, Query(max_length=8, description="only this batch")] = None,
                     ) -> ReviewQueue:
        """Records waiting for review, first in line first, with their queue positions."""
        return st.records.queue(limit, offset, batch.strip().upper() if batch else None)

    @app.post(f"{API}/review/{{record_id}}", response_model=ReviewResult, tags=["admin"],
              responses=_problem_responses(401, 403, 404, 409, 422))
    def review(record_id: uuid.UUID, body: ReviewAction, who: Annotated[str, Depends(admin_auth)]) -> ReviewResult:
        """Approve or reject (with a reason) a queued record; confirm an approved one (audited as "admin").

        Refused with 409 while a reviewer holds the record on the console.
        """
        st.desk.refuse_if_held(str(record_id), ADMIN, st.clock())
        return st.records.review(str(record_id), body.action, body.reason, st.clock(), reviewer=ADMIN)

    @app.post(f"{API}/batches", response_model=BatchModel, status_code=201, tags=["admin"],
              responses={200: {"model": BatchModel, "description": "replaced"},
                         **_problem_responses(401, 403, 422)})
    def put_batch(body: BatchModel, response: Response, who: Annotated[str, Depends(admin_auth)]) -> BatchModel:
        """Create (201) or replace (200) a batch."""
        created = st.batches.put(Batch.from_json(body.model_dump()), st.clock())
        response.status_code = 201 if created else 200
        return body

    @app.post(f"{API}/tokens", response_model=TokenResponse, status_code=201, tags=["admin"],
              responses=_problem_responses(401, 403, 409, 422))
    def issue_token(body: TokenRequest, who: Annotated[str, Depends(admin_auth)]) -> TokenResponse:
        """Issue a station token, shown only in this answer; 409 if the station has a live one (unless rotate)."""
        try:
            token = st.tokens.issue(body.station_id, st.clock(), rotate=body.rotate)
        except StationActive:
            raise Problem(409, "station-active", "this station id has a live token; send rotate to replace it") \
                from None
        return TokenResponse(station_id=body.station_id, token=token)

    @app.delete(f"{API}/tokens/{{station_id}}", response_model=Revoked, tags=["admin"],
                responses=_problem_responses(401, 403, 404))
    def revoke_token(station_id: str, who: Annotated[str, Depends(admin_auth)]) -> Revoked:
        """Revoke a station's token: its next call gets 401."""
        if not st.tokens.revoke(station_id, st.clock()):
            raise Problem(404, "unknown-station", "no token was issued for this station")
        return Revoked(station_id=station_id, revoked=True)

    app.include_router(bind_page.make_router(st.binder, st.clock))
    app.include_router(console.make_router(st.accounts, st.desk, st.stations, st.db, st.clock,
                                           public_url=config.server.public_url, timezone=config.server.timezone,
                                           silent_s=silent_s, login_max_age_s=3600))
    app.mount(console.STATIC, console.static_files(), name="console-static")
    app.include_router(student_pages.make_router(student_pages.pages_of(st)))
    app.include_router(student_api.make_router(st.students, station_auth, st.clock), prefix=API)
    return app
