"""The review console's pages: sign-in, review, batch dashboard (server-rendered, a little script).

Every page is a Jinja2 template under ``templates/console`` in the language of
``?lang=`` (Chinese by default). The pages read and change data through the
same objects as the JSON API, and their scripts call that API; the only form
posts handled here are signing in and out. A page that needs a session sends
a visitor without one to the sign-in page, saying so when a session has ended.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from kiosk.server import dashboard, problems
from kiosk.server.accounts import Accounts, LoginRefused, Session
from kiosk.server.console_api import batch_filter
from kiosk.server.console_auth import COORDINATE_ROLES, REVIEW_ROLES
from kiosk.server.console_schema import REASONS
from kiosk.server.refusals import Refused
from kiosk.server.review_desk import ReviewDesk
from kiosk.server.review_measures import measure_rows
from kiosk.server.sessions import LOGIN_COOKIE, SESSION_COOKIE, cookie_secure, new_token, tokens_match
from kiosk.server.station_board import StationBoard
from kiosk.server.templating import page_language, render
from kiosk.text import text

log = logging.getLogger(__name__)

PREFIX = "/console"
STATIC = f"{PREFIX}/static"
#: how often the dashboard asks the API again
DASHBOARD_REFRESH_S = 10
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; object-src 'none'; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def zone(name: str) -> ZoneInfo:
    """The time zone ``name``, or UTC when this machine does not know it (logged)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("console.unknown_timezone")
        return ZoneInfo("UTC")


def make_router(accounts: Accounts, desk: ReviewDesk, board: StationBoard, db: Any, clock: Callable[[], datetime],
                *, public_url: str, timezone: str, silent_s: float, login_max_age_s: int) -> APIRouter:
    """The ``/console`` pages (not in the OpenAPI spec: they are pages over the documented API)."""
    router = APIRouter(include_in_schema=False)
    tz = zone(timezone)

    def when(iso: str | None) -> str:
        if not iso:
            return ""
        try:
            return datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            return iso

    def hour(iso: str) -> str:
        return datetime.fromisoformat(iso).astimezone(tz).strftime("%H:00")

    def page(request: Request, template: str, lang: str, session: Session | None, status: int = 200,
             **ctx: Any) -> HTMLResponse:
        here = ctx.pop("here", request.url.path)
        body = render(f"console/{template}", lang, static=STATIC, here=here, user=session.user if session else None,
                      csrf=session.csrf if session else "", when=when, hour=hour, **ctx)
        return HTMLResponse(body, status_code=status, headers=_HEADERS)

    def secure(request: Request) -> bool:
        return cookie_secure(request.url.scheme, public_url)

    def to_login(lang: str, next_path: str, *, expired: bool) -> RedirectResponse:
        url = f"{PREFIX}/login?lang={lang}&next={quote(next_path, safe='')}" + ("&expired=1" if expired else "")
        return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})

    def signed_in(request: Request) -> Session | None:
        return accounts.session(request.cookies.get(SESSION_COOKIE), clock())

    def denied(request: Request, lang: str, session: Session | None, roles: tuple[str, ...]) -> HTMLResponse:
        names = "、".join(text(f"console.role.{r}", lang) for r in roles) if lang == "zh" else \
            ", ".join(text(f"console.role.{r}", lang) for r in roles)
        return page(request, "message.html", lang, session, 403, page="", heading=text("console.denied.title", lang),
                    message=text("console.denied.role", lang, roles=names), back=f"{PREFIX}/login?lang={lang}")

    def admitted(request: Request, lang: str, name: str, roles: tuple[str, ...]) -> Session | Response:
        """The session of a user with one of ``roles``, or the answer to anyone else: the sign-in page
        (saying so when their session has ended), or "not for your role"."""
        session = signed_in(request)
        if session is None:
            return to_login(lang, f"{PREFIX}/{name}", expired=SESSION_COOKIE in request.cookies)
        if session.user.role not in roles:
            return denied(request, lang, session, roles)
        return session

    def login_page(request: Request, lang: str, *, status: int = 200, error: str = "", notice: str = "",
                   name: str = "", next_path: str = "") -> HTMLResponse:
        nonce = new_token()
        response = page(request, "login.html", lang, None, status, page="login", login_token=nonce, error=error,
                        notice=notice, typed_name=name, next=next_path)
        response.set_cookie(LOGIN_COOKIE, nonce, max_age=login_max_age_s, path=f"{PREFIX}/login", httponly=True,
                            samesite="strict", secure=secure(request))
        return response

    @router.get(PREFIX)
    def console_home(lang: str = Query("zh")) -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/review?lang={page_language(lang)}", status_code=303)

    @router.get(f"{PREFIX}/login", response_class=HTMLResponse)
    def login_form(request: Request, lang: str = Query("zh"), next: str = Query("", max_length=200),
                   expired: str = Query(""), bye: str = Query("")) -> HTMLResponse:
        lang = page_language(lang)
        notice = text("console.login.expired", lang) if expired else text("console.login.logged_out", lang) \
            if bye else ""
        return login_page(request, lang, notice=notice, next_path=next)

    @router.post(f"{PREFIX}/login", response_class=HTMLResponse)
    def login(request: Request, *, lang: str = Query("zh"), name: Annotated[str, Form(max_length=64)] = "",
              password: Annotated[str, Form(max_length=1024)] = "",
              csrf_token: Annotated[str, Form(max_length=128)] = "",
              next: Annotated[str, Form(max_length=200)] = "") -> Response:
        lang = page_language(lang)
        name = name.strip()
        if not tokens_match(request.cookies.get(LOGIN_COOKIE), csrf_token):
            log.warning("login.refused why=csrf")
            return login_page(request, lang, status=403, error=text("console.login.form_expired", lang), name=name,
                              next_path=next)
        address = request.client.host if request.client else "-"
        try:
            token, session = accounts.login(name, password, address, clock())
        except LoginRefused as refused:
            return login_page(request, lang, status=429 if refused.key == "console.login.locked" else 401,
                              error=refused.message(lang), name=name, next_path=next)
        default = "review" if session.user.role == "reviewer" else "dashboard"
        target = next if next.startswith(f"{PREFIX}/") and "//" not in next else f"{PREFIX}/{default}?lang={lang}"
        response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
        response.set_cookie(SESSION_COOKIE, token, path="/", httponly=True, samesite="strict", secure=secure(request))
        response.delete_cookie(LOGIN_COOKIE, path=f"{PREFIX}/login")
        return response

    @router.post(f"{PREFIX}/logout", response_class=HTMLResponse)
    def logout(request: Request, lang: str = Query("zh"),
               csrf_token: Annotated[str, Form(max_length=128)] = "") -> Response:
        lang = page_language(lang)
        session = signed_in(request)
        if session is None:
            return to_login(lang, "", expired=False)
        if not tokens_match(session.csrf, csrf_token):
            log.warning("logout.refused why=csrf")
            return page(request, "message.html", lang, session, 403, page="",
                        heading=text("console.denied.title", lang), message=text("console.denied.csrf", lang),
                        back=f"{PREFIX}/review?lang={lang}", here=f"{PREFIX}/review")
        accounts.end_session(request.cookies.get(SESSION_COOKIE), clock())
        response = RedirectResponse(f"{PREFIX}/login?lang={lang}&bye=1", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @router.get(f"{PREFIX}/review", response_class=HTMLResponse)
    def review_page(request: Request, lang: str = Query("zh"), batch: str = Query("", max_length=16),
                    record: str = Query("", max_length=64)) -> Response:
        lang = page_language(lang)
        session = admitted(request, lang, "review", REVIEW_ROLES)
        if not isinstance(session, Session):
            return session
        code = batch_filter(batch)
        now = clock()
        notice, status = "", 200
        item = None
        if record:
            try:
                item = desk.open(record, session.user.name, now)
            except Refused as problem:
                notice = text("console.review.claimed_elsewhere", lang) if problem.kind == "claimed" else \
                    problem.detail
                status = problems.status_of(problem.kind)
        if item is None:
            item = desk.next(session.user.name, now, code).record
        suffix = f"&batch={code}" if code else ""
        measures = measure_rows(item.measurements, lang) if item is not None else []
        return page(request, "review.html", lang, session, status, page="review", item=item, reasons=REASONS,
                    measures=measures,
                    batches=dashboard.batch_codes(db), batch=code or "", waiting=desk.waiting(code, now),
                    notice=notice, lang_suffix=suffix)

    @router.get(f"{PREFIX}/dashboard", response_class=HTMLResponse)
    def dashboard_page(request: Request, lang: str = Query("zh"), batch: str = Query("", max_length=16),
                       refresh: str = Query("", max_length=8)) -> Response:
        lang = page_language(lang)
        session = admitted(request, lang, "dashboard", COORDINATE_ROLES)
        if not isinstance(session, Session):
            return session
        board_now = dashboard.board(db, board, batch_filter(batch), clock(), silent_s)
        labels = {"timezone": tz.key, "silent": text("console.dashboard.silent", lang),
                  "no_help": text("console.dashboard.no_help", lang),
                  "no_stations": text("console.dashboard.no_stations", lang),
                  "help": {r: text(f"console.help.{r}", lang)
                           for r in ("lockout", "no_code", "camera_lost", "save_failed", "other")}}
        suffix = f"&batch={board_now.batch}" if board_now.batch else ""
        return page(request, "dashboard.html", lang, session, page="dashboard", board=board_now,
                    batches=board_now.batches, states=dashboard.STATES,
                    refresh_s=min(300, max(1, int(refresh))) if refresh.isdigit() else DASHBOARD_REFRESH_S,
                    labels=labels, lang_suffix=suffix)

    return router


def static_files() -> StaticFiles:
    """The console's CSS and scripts, served from the package (no CDN, no build step)."""
    return StaticFiles(directory=str(resources.files("kiosk.server") / "static" / "console"))
