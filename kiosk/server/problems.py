"""Refusals as ``application/problem+json`` (RFC 9457): every 4xx carries type, title, status, detail.

The server's books raise ``Refused(kind)`` (kiosk/server/refusals.py) and know
nothing of HTTP; ``REGISTRY`` below is the one list of problem types, each with
its status. The handlers installed by ``install_handlers`` turn a refusal,
FastAPI's validation errors and Starlette's own HTTP errors (unknown path, wrong
method, unreadable multipart body) into the same body, so a client never has to
parse two error shapes. Titles come from the strings table (``server.problem.*``),
Chinese first, because a student's phone shows them when a bind is refused.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kiosk.server.refusals import Refused
from kiosk.server.schema import ProblemDoc
from kiosk.text import bilingual, table

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
#: how long a client is asked to wait when the server's disk or database cannot take a write
STORAGE_RETRY_AFTER_S = 60

@dataclass(frozen=True)
class ProblemType:
    """One kind of refusal: its slug (``/problems/<slug>``, title ``server.problem.<slug>``) and HTTP status.

    ``challenge``: the answer asks for a bearer token (``WWW-Authenticate``).
    """

    slug: str
    status: int
    challenge: bool = False


#: Every kind of refusal the server answers with. The domain raises ``Refused(kind)``; the edge
#: takes the status from here. The first type of each status also names a bare HTTP error of it.
REGISTRY: dict[str, ProblemType] = {p.slug: p for p in (
    # plain HTTP refusals (no route chose a kind: unknown path, wrong method, unreadable body)
    ProblemType("bad-request", 400),
    ProblemType("unauthorized", 401, challenge=True),
    ProblemType("forbidden", 403),
    ProblemType("not-found", 404),
    ProblemType("method-not-allowed", 405),
    ProblemType("timeout", 408),
    ProblemType("conflict", 409),
    ProblemType("too-large", 413),
    ProblemType("unsupported-media-type", 415),
    ProblemType("invalid", 422),
    ProblemType("too-many-attempts", 429),
    ProblemType("internal", 500),
    ProblemType("unavailable", 503),
    # access
    ProblemType("session-expired", 401, challenge=True),
    ProblemType("csrf", 403),
    ProblemType("rate-limited", 429),
    # uploads
    ProblemType("idempotency-key", 400),
    ProblemType("invalid-metadata", 422),
    ProblemType("not-jpeg", 422),
    ProblemType("not-a-photo", 422),
    ProblemType("hash-mismatch", 422),
    ProblemType("size-mismatch", 422),
    ProblemType("original-missing", 422),
    ProblemType("record-conflict", 422),
    ProblemType("secret-taken", 422),
    ProblemType("captured-outside-batch", 422),
    ProblemType("help-conflict", 422),
    # records, batches, stations
    ProblemType("unknown-record", 404),
    ProblemType("unknown-batch", 404),
    ProblemType("unknown-station", 404),
    ProblemType("station-active", 409),
    # review
    ProblemType("not-waiting", 404),
    ProblemType("claimed", 409),
    ProblemType("review-conflict", 409),
    # the student's confirmation and download
    ProblemType("not-approved", 409),
    ProblemType("not-confirmed", 409),
    # binding a code
    ProblemType("unknown-ticket", 404),
    ProblemType("bad-ticket", 422),
    ProblemType("bad-code", 422),
    ProblemType("wrong-last-four", 422),
    ProblemType("bound-elsewhere", 409),
    ProblemType("student-in-review", 409),
    ProblemType("codes-unavailable", 503),
)}

#: the kind named for a bare HTTP status
_BY_STATUS: dict[int, str] = {}
for _type in REGISTRY.values():
    _BY_STATUS.setdefault(_type.status, _type.slug)


def problem_type(kind: str) -> ProblemType:
    """The registered type of ``kind``; an unregistered kind is a server bug, answered as 500 "internal"."""
    found = REGISTRY.get(kind)
    if found is None:
        log.error("problem.unregistered kind=%s", kind)
        return REGISTRY["internal"]
    return found


def status_of(kind: str) -> int:
    """The HTTP status a refusal of ``kind`` is answered with."""
    return problem_type(kind).status


def kind_for_status(status: int) -> str:
    """The kind of a bare HTTP error with ``status`` (no route chose one)."""
    return _BY_STATUS.get(status, "bad-request" if status < 500 else "internal")


def refusal_headers(refused: Refused) -> dict[str, str]:
    """The headers of the answer to ``refused``: a bearer challenge, when to come back."""
    headers = {"WWW-Authenticate": "Bearer"} if problem_type(refused.kind).challenge else {}
    if refused.retry_after_s is not None:
        headers["Retry-After"] = str(refused.retry_after_s)
    return headers


def refusal_response(refused: Refused) -> JSONResponse:
    """The problem+json answer to ``refused``: status and headers from its registered type."""
    kind = problem_type(refused.kind)
    return response(kind.status, kind.slug, refused.detail, headers=refusal_headers(refused) or None,
                    **refused.extra)


def title(slug: str) -> str:
    """The bilingual title of problem ``slug`` ("中文 / English")."""
    key = f"server.problem.{slug}"
    if key not in table():
        key = "server.problem.invalid"
    return bilingual(key)


def body(status: int, slug: str, detail: str = "", **extra: Any) -> dict[str, Any]:
    """The problem document for ``status`` and ``slug``."""
    doc: dict[str, Any] = {"type": f"/problems/{slug}", "title": title(slug), "status": status,
                           "detail": detail}
    doc.update(extra)
    return doc


def response(status: int, slug: str, detail: str = "", *, headers: dict[str, str] | None = None,
             **extra: Any) -> JSONResponse:
    """A problem+json response."""
    return JSONResponse(body(status, slug, detail, **extra), status_code=status, headers=headers,
                        media_type=PROBLEM_JSON)


def _validation_detail(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    """A short detail line and the list of offending fields (locations and messages only, no values)."""
    errors = [{"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", ""))}
              for err in exc.errors()]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    return f"{'.'.join(first['loc'])}: {first['msg']}", errors


def answer(path: str, exc: Exception) -> JSONResponse | None:
    """The problem+json answer to ``exc`` raised while serving ``path`` (and its log line), or None for an
    exception that is a bug (answered 500 by the outermost handler). The application's handlers and the
    upload's own path (kiosk/server/upload_route.py) answer through this one function."""
    if isinstance(exc, Refused):
        refused = refusal_response(exc)
        if not exc.logged:
            log.info("request.refused path=%s status=%s problem=%s", path, refused.status_code, exc.kind)
        return refused
    if isinstance(exc, RequestValidationError):
        detail, errors = _validation_detail(exc)
        log.info("request.invalid path=%s fields=%d", path, len(errors))
        return response(422, "invalid", detail, errors=errors)
    if isinstance(exc, StarletteHTTPException):
        headers = dict(exc.headers) if exc.headers else None
        return response(exc.status_code, kind_for_status(exc.status_code), str(exc.detail), headers=headers)
    if isinstance(exc, STORAGE_ERRORS):
        # A full disk or a busy database passes: say so, and when to come back, rather than 500.
        log.error("request.storage_failed path=%s error=%s errno=%s", path, type(exc).__name__,
                  getattr(exc, "errno", None))
        return response(503, "unavailable", "the server cannot store data now; retry later",
                        headers={"Retry-After": str(STORAGE_RETRY_AFTER_S)})
    return None


#: a full disk, a database busy past its timeout, a PostgreSQL server gone away
STORAGE_ERRORS = (OSError, OperationalError, sqlite3.OperationalError)


def install_handlers(app: FastAPI) -> None:
    """Make every refusal of ``app`` a problem+json body."""

    async def on_known(request: Request, exc: Exception) -> JSONResponse:
        known = answer(request.url.path, exc)
        assert known is not None
        return known

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not a refusal: log it for the operator, answer in the same shape.
        log.exception("request.failed path=%s error=%s", request.url.path, type(exc).__name__)
        return response(500, "internal", "internal error")

    for known_type in (Refused, RequestValidationError, StarletteHTTPException, *STORAGE_ERRORS):
        app.add_exception_handler(known_type, on_known)
    app.add_exception_handler(Exception, on_unexpected)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entries of a route's refusals: problem+json with these statuses."""
    return {code: {"model": ProblemDoc, "content": {PROBLEM_JSON: {}}} for code in codes}
