"""The student's pages: ``/s/{status_secret}`` and ``/s`` (the same page reached with the code and last four).

The status secret is a capability: whoever holds the link sees the record's
state, confirms or disputes an approved photo, and downloads a confirmed one.
Without the link, the pasted collection code plus the ID's last four open the
same page (misses counted per code, as binds are). Everything else gets a page
that names no record. Every answer is HTML (or the JPEG), never JSON, sent with
``Cache-Control: no-store`` and no referrer, so a shared phone or a proxy keeps
no copy and no other site learns the link.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from kiosk.server import problems
from kiosk.server.batches import BatchBook
from kiosk.server.blobs import BlobStore
from kiosk.server.schema import RecordStatus
from kiosk.server.student_view import (
    CODE_MAX,
    DISPUTE_MAX,
    Access,
    StudentView,
    access_page,
    mask_phone,
    message_page,
    record_page,
    status_page,
    view_of,
)
from kiosk.server.students import StudentBook, StudentRecord, StudentRefusal
from kiosk.server.templating import page_language

log = logging.getLogger(__name__)

PREFIX = "/s"
#: the shape of a status secret (``secrets.token_urlsafe(24)`` is 32 characters)
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
#: headers of every student page: no cache copy, no referrer carrying the link to another site
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
_DONE = ("confirmed", "disputed")


@dataclass(frozen=True)
class StudentPages:
    """What the pages need: the records, batches, photo files, the clock and the settings."""

    book: StudentBook
    batches: BatchBook
    photos: BlobStore
    clock: Callable[[], datetime]
    retention_days: int
    zone: ZoneInfo
    #: whether a notification channel is configured (else no page mentions a message)
    notifying: bool

    def view(self, record: StudentRecord) -> StudentView:
        """The view of ``record`` for its page."""
        phone = record.row.get("contact_phone")
        return view_of(record.row, self.batches.get(str(record.row["batch"])), retention_days=self.retention_days,
                       zone=self.zone, queue_position=record.queue_position,
                       notify_phone=mask_phone(phone) if phone and self.notifying else None)

    def expired(self, view: StudentView) -> bool:
        """Whether the record is past retention (the purge may not have run yet): the purge's own cutoff."""
        return self.clock() >= view.captured_at + timedelta(days=self.retention_days)


def pages_of(state: Any) -> StudentPages:
    """The pages over a ``ServerState``."""
    return StudentPages(book=state.students, batches=state.batches, photos=state.photos, clock=state.clock,
                        retention_days=state.config.server.retention_days, zone=state.zone,
                        notifying=state.outbox is not None)


def record_status_page(found: RecordStatus, lang: str | None) -> HTMLResponse:
    """``GET /api/v1/records/{id}`` for a browser: the state only (404 page before the record arrives)."""
    lang = page_language(lang)
    if found.status == "unknown":
        return _html(message_page(lang, "student.not_arrived.title", "student.not_arrived.body", problem=False,
                                  show_access=True), 404)
    return _html(record_page(lang, found.record_id, found.status, found.queue_position, found.reason))


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=PRIVATE)


def not_found(lang: str) -> HTMLResponse:
    """The page for a link that names no record (404)."""
    return _html(message_page(lang, "student.not_found.title", "student.not_found.body", show_access=True), 404)


def _gone(lang: str, view: StudentView) -> HTMLResponse:
    return _html(message_page(lang, "student.gone.title", "student.gone.body", date=view.keep_until,
                              help_phone=view.help_phone, help_hours=view.help_hours), 410)


def _refused(lang: str, refusal: StudentRefusal, back_url: str, view: StudentView | None) -> HTMLResponse:
    params = dict(refusal.params)
    if "state" in params:
        params["state"] = _state_words(str(params["state"]), lang)
    return _html(message_page(lang, "student.refused.title", refusal.key, back_url=back_url,
                              help_phone=view.help_phone if view else "",
                              help_hours=view.help_hours if view else "", params=params),
                 problems.status_of(refusal.kind))


def _state_words(status: str, lang: str) -> str:
    from kiosk.text import text

    return text(f"student.state.{status}", lang)


def _link_access(secret: str) -> Access:
    base = f"{PREFIX}/{quote(secret)}"
    return Access(base=base, hidden={}, photo_src=f"{base}/photo.jpg", download_url=f"{base}/download")


def make_router(pages: StudentPages) -> APIRouter:
    """The ``/s`` routes (pages, not API: kept out of the OpenAPI schema)."""
    router = APIRouter(include_in_schema=False)

    def by_secret(secret: str) -> StudentRecord | None:
        return pages.book.by_secret(secret) if SECRET_PATTERN.match(secret) else None

    def live(secret: str, lang: str) -> tuple[StudentRecord, StudentView] | Response:
        """The record of the link and its view; or the page for a link that names none, or one past retention."""
        record = by_secret(secret)
        if record is None:
            log.info("student_page.unknown")
            return not_found(lang)
        view = pages.view(record)
        if pages.expired(view):
            log.info("student_page.expired id=%s", view.record_id)
            return _gone(lang, view)
        return record, view

    def photo_bytes(record: StudentRecord) -> bytes | None:
        sha = str(record.row["photo_sha256"])
        try:
            return pages.photos.get(sha)
        except OSError:
            log.error("student_page.photo_missing id=%s", record.row["record_id"])
            return None

    def jpeg(record: StudentRecord, view: StudentView, lang: str, *, attachment: bool) -> Response:
        data = photo_bytes(record)
        if data is None:
            return _refused(lang, StudentRefusal("unavailable", "student.refused.photo_missing"), "", view)
        headers = dict(PRIVATE)
        if attachment:
            headers["Content-Disposition"] = f'attachment; filename="{view.download_name}"'
        return Response(data, media_type="image/jpeg", headers=headers)

    @router.get(PREFIX, response_class=HTMLResponse)
    def access_form(lang: str | None = None) -> HTMLResponse:
        """The collection code form."""
        return _html(access_page(page_language(lang)))

    @router.post(PREFIX, response_class=HTMLResponse)
    async def access_submit(request: Request) -> Response:
        """The status page for a pasted code and last four, or the form again with the reason."""
        form = await _form(request)
        if form is None:
            return _html(access_page("zh", "student.access.missing"), 400)
        lang = page_language(form.get("lang"))
        return await run_in_threadpool(_by_code, form, lang, None)

    @router.post(PREFIX + "/code/{action}", response_class=HTMLResponse)
    async def code_action(action: str, request: Request) -> Response:
        """Confirm, dispute or download from a page opened with the code."""
        form = await _form(request)
        if form is None or action not in ("confirm", "dispute", "download"):
            return not_found("zh")
        lang = page_language(form.get("lang"))
        return await run_in_threadpool(_by_code, form, lang, action)

    def _by_code(form: dict[str, str], lang: str, action: str | None) -> Response:
        code, last4 = form.get("code", "").strip(), form.get("last4", "").strip()
        if not code or not last4 or len(code) > CODE_MAX or len(last4) > 16:
            return _html(access_page(lang, "student.access.missing"), 422)
        try:
            record = pages.book.by_code(code, last4, pages.clock())
        except StudentRefusal as refusal:
            return _html(access_page(lang, refusal.key, **refusal.params), problems.status_of(refusal.kind))
        if record is None:
            return _html(access_page(lang, "student.access.not_found"), 404)
        view = pages.view(record)
        access = Access(base=f"{PREFIX}/code", hidden={"code": code, "last4": last4}, photo_src="",
                        download_url="")
        done: str | None = None
        if action is not None:
            if pages.expired(view):
                return _gone(lang, view)
            if action == "download":
                if view.status != "confirmed":
                    return _refused(lang, StudentRefusal("not-confirmed", "student.refused.not_confirmed"), "", view)
                return jpeg(record, view, lang, attachment=True)
            try:
                record = _act(record, action, form)
            except StudentRefusal as refusal:
                return _refused(lang, refusal, "", view)
            view = pages.view(record)
            done = "confirmed" if action == "confirm" else "disputed"
        if view.status in ("approved", "confirmed"):
            if pages.expired(view):
                return _gone(lang, view)
            data = photo_bytes(record)
            src = "data:image/jpeg;base64," + base64.b64encode(data).decode() if data else ""
            access = Access(base=access.base, hidden=access.hidden, photo_src=src, download_url="")
        return _html(status_page(view, access, lang, done))

    def _act(record: StudentRecord, action: str, form: dict[str, str]) -> StudentRecord:
        record_id = str(record.row["record_id"])
        if action == "confirm":
            return pages.book.confirm(record_id, pages.clock())
        reason = form.get("reason", "").strip()
        if not reason or len(reason) > DISPUTE_MAX:
            raise StudentRefusal("invalid", "student.refused.dispute_reason", n=DISPUTE_MAX)
        return pages.book.dispute(record_id, reason, pages.clock())

    @router.get(PREFIX + "/{secret}", response_class=HTMLResponse)
    def status(secret: str, lang: str | None = None, done: str | None = None) -> Response:
        """The student's page."""
        lang = page_language(lang)
        found = live(secret, lang)
        if isinstance(found, Response):
            return found
        _, view = found
        return _html(status_page(view, _link_access(secret), lang, done if done in _DONE else None))

    @router.get(PREFIX + "/{secret}/photo.jpg")
    def photo(secret: str, lang: str | None = None) -> Response:
        """The photo to look at, once it passed review."""
        return photo_file(secret, page_language(lang), attachment=False)

    @router.get(PREFIX + "/{secret}/download")
    def download(secret: str, lang: str | None = None) -> Response:
        """The confirmed photo as a file: exactly the stored bytes."""
        return photo_file(secret, page_language(lang), attachment=True)

    def photo_file(secret: str, lang: str, *, attachment: bool) -> Response:
        """The link's photo: to look at once approved, as a download once confirmed."""
        found = live(secret, lang)
        if isinstance(found, Response):
            return found
        record, view = found
        if not attachment:
            if view.status not in ("approved", "confirmed"):
                return not_found(lang)
        elif view.status != "confirmed":
            return _refused(lang, StudentRefusal("not-confirmed", "student.refused.not_confirmed"),
                            f"{PREFIX}/{quote(secret)}?lang={lang}", view)
        else:
            log.info("student_page.download id=%s", view.record_id)
        return jpeg(record, view, lang, attachment=attachment)

    @router.post(PREFIX + "/{secret}/{action}")
    async def act(secret: str, action: str, request: Request) -> Response:
        """Confirm or dispute, then back to the page (POST, redirect, GET)."""
        form = await _form(request) or {}
        lang = page_language(form.get("lang"))
        record = await run_in_threadpool(by_secret, secret)
        if record is None or action not in ("confirm", "dispute"):
            return not_found(lang)
        view = pages.view(record)
        back = f"{PREFIX}/{quote(secret)}?lang={lang}"
        if pages.expired(view):
            return _gone(lang, view)
        try:
            await run_in_threadpool(_act, record, action, form)
        except StudentRefusal as refusal:
            return _refused(lang, refusal, back, view)
        done = "confirmed" if action == "confirm" else "disputed"
        return RedirectResponse(f"{back}&done={done}", status_code=303, headers=PRIVATE)

    return router


async def _form(request: Request) -> dict[str, str] | None:
    """The posted form's text fields (files ignored), or None when it cannot be read."""
    try:
        form = await request.form(max_files=0, max_fields=8)
    except StarletteHTTPException:
        log.info("student_page.unreadable_form")
        return None
    try:
        return {k: v for k, v in form.items() if isinstance(v, str)}
    finally:
        await form.close()
