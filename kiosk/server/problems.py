"""Refusals as ``application/problem+json`` (RFC 9457): every 4xx carries type, title, status, detail.

A route raises ``Problem``; the handlers installed by ``install_handlers`` turn it,
FastAPI's validation errors and Starlette's own HTTP errors (unknown path, wrong
method, unreadable multipart body) into the same body, so a client never has to
parse two error shapes. Titles come from the strings table (``server.problem.*``),
Chinese first, because a student's phone shows them when a bind is refused.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kiosk.errors import KioskError
from kiosk.text import bilingual, table

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
#: how long a client is asked to wait when the server's disk or database cannot take a write
STORAGE_RETRY_AFTER_S = 60

#: the problem slug used for a plain HTTP status that no route chose a slug for
_STATUS_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid",
    429: "too-many-attempts",
    500: "internal",
    503: "unavailable",
}


class Problem(Exception):
    """A refusal with its HTTP status, a problem slug (``server.problem.<slug>``) and a detail.

    ``detail`` is sent to the client and logged: never put personal data in it.
    ``error`` keeps the refused input's ``KioskError`` (not sent) so a page can word it in each language.
    """

    def __init__(self, status: int, slug: str, detail: str = "", *, headers: dict[str, str] | None = None,
                 error: KioskError | None = None, **extra: Any) -> None:
        self.status = status
        self.error = error
        self.slug = slug
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra
        super().__init__(f"{status} {slug}: {detail}")


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


def install_handlers(app: FastAPI) -> None:
    """Make every refusal of ``app`` a problem+json body."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        log.info("request.refused path=%s status=%s problem=%s", request.url.path, exc.status, exc.slug)
        return response(exc.status, exc.slug, exc.detail, headers=exc.headers, **exc.extra)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        detail, errors = _validation_detail(exc)
        log.info("request.invalid path=%s fields=%d", request.url.path, len(errors))
        return response(422, "invalid", detail, errors=errors)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        slug = _STATUS_SLUGS.get(exc.status_code, "bad-request" if exc.status_code < 500 else "internal")
        headers = dict(exc.headers) if exc.headers else None
        return response(exc.status_code, slug, str(exc.detail), headers=headers)

    async def on_storage(request: Request, exc: Exception) -> JSONResponse:
        # A full disk or a busy database passes: say so, and when to come back, rather than 500.
        log.error("request.storage_failed path=%s error=%s errno=%s", request.url.path, type(exc).__name__,
                  getattr(exc, "errno", None))
        return response(503, "unavailable", "the server cannot store data now; retry later",
                        headers={"Retry-After": str(STORAGE_RETRY_AFTER_S)})

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not a refusal: log it for the operator, answer in the same shape.
        log.exception("request.failed path=%s error=%s", request.url.path, type(exc).__name__)
        return response(500, "internal", "internal error")

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(OSError, on_storage)
    # a full disk, a database busy past its timeout, a PostgreSQL server gone away
    app.add_exception_handler(OperationalError, on_storage)
    app.add_exception_handler(sqlite3.OperationalError, on_storage)
    app.add_exception_handler(Exception, on_unexpected)
