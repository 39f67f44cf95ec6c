"""The page where a student binds a collection code to a codeless record from a phone.

``GET /bind`` is a plain form (no script, no external assets): the claim ticket,
the last four of the ID, and the collection code as an uploaded image (the QR
image downloaded from CHSI, a screenshot or a photo of it) or as pasted text.
``POST /bind`` reads the QR server-side with the station's own scanner and then
runs exactly the bind of ``POST /api/v1/bind`` as an anonymous phone (so the
same per-ticket lock applies). Every answer is an HTML page: a refusal is a 4xx
(503 while codes cannot be checked) with the reason in words, never a 500.
Nothing the student sent is logged.

An image is the expensive part, so it comes last: the form's size is capped at
the server's edge while it streams, the ticket must exist before the image is
looked at, the image's pixel count is read from its header before it is
decoded, and images are decoded by a small pool of worker threads with a short
queue (a busy page beyond it), so a burst of uploads cannot take the server's
memory or all its threads.
"""

from __future__ import annotations

import asyncio
import io
import logging
import math
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

import cv2
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from PIL import Image
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from kiosk.config import ScannerSection
from kiosk.errors import KioskError
from kiosk.scanner import Scanner, classify
from kiosk.scanner.pictures import picture_gray
from kiosk.server import problems
from kiosk.server.binding import Binder
from kiosk.server.refusals import Refused
from kiosk.server.schema import BindResponse
from kiosk.server.templating import render
from kiosk.text import table, text

log = logging.getLogger(__name__)

PATH = "/bind"
#: the largest image accepted (a CHSI download or a phone photo fits well within)
MAX_IMAGE_BYTES = 5_000_000
#: the whole form: the image plus the text fields and multipart framing
MAX_BODY = MAX_IMAGE_BYTES + 64_000
#: larger images are refused before decoding (a tiny file can claim huge dimensions); a phone
#: screenshot or photo of a QR code has a few megapixels
MAX_PIXELS = 12_000_000
#: images decoded at once, and images waiting for a decoder beyond which the page answers "busy"
DECODERS, DECODE_QUEUE = 2, 8
#: a phone photo is searched again at this size when the full one yields nothing
_RETRY_SIDE = 1600
#: the same limits as ``BindRequest``
_MAX_TICKET, _MAX_LAST4, _MAX_PAYLOAD = 32, 16, 4096
#: one uploaded image is not a live frame: it may take the scanner's whole range of extra passes
SCANNER = ScannerSection(budget_ms=200.0)

#: the page's style sheet (kiosk/server/static/bind.css): the pages allow no inline style
STYLESHEET = "/static/bind.css"
T = TypeVar("T")


class PageRefusal(Exception):
    """A refusal shown as a page: HTTP status, strings key and its parameters."""

    def __init__(self, status: int, key: str, **params: object) -> None:
        self.status = status
        self.key = key
        self.params = params
        super().__init__(f"{status} {key}")


#: a line of the page: strings key, class, parameters
Line = tuple[str, str, dict[str, object]]


def _page(heading: Line, lines: list[Line], *, ticket: str | None = None, link: str = "") -> str:
    """The page (template ``bind/page.html``, autoescaped): a heading, lines, the status link, the form.

    The form is shown when ``ticket`` is not None, prefilled with it.
    """
    return render("bind/page.html", "zh", tx=_text, stylesheet=STYLESHEET, heading=heading, lines=lines,
                  link=link, form=ticket is not None, ticket=(ticket or "")[:64], path=PATH,
                  max_ticket=_MAX_TICKET, max_last4=_MAX_LAST4, max_payload=_MAX_PAYLOAD)


def _text(key: str, lang: str, params: dict[str, object] | None = None) -> str:
    return text(key, lang, **(params or {}))


def form_page(ticket: str = "") -> str:
    """``GET /bind``: the introduction and the form, ``ticket`` prefilled."""
    return _page(("server.bind_page.title", "", {}), [("server.bind_page.intro", "", {})], ticket=ticket)


def success_page(bound: BindResponse) -> str:
    """The record bound: its short id and its status, and a link to its status page."""
    return _page(("server.bind_page.ok", "ok", {}),
                 [("server.bind_page.record", "", {"record": bound.record_id[:8].upper()}),
                  (f"server.status.{bound.status}", "", {})],
                 link=f"/api/v1/records/{bound.record_id}")


def refusal_page(refusal: PageRefusal, ticket: str = "") -> str:
    """The reason in words, then the form again (ticket kept) to try once more."""
    lines: list[Line] = [(refusal.key, "bad", refusal.params)]
    left = refusal.params.get("attempts_left")
    if isinstance(left, int):
        lines.append(("server.bind_page.attempts_left" if left else "server.bind_page.locked_now", "", {"n": left}))
    return _page(("server.bind_page.failed", "bad", {}), lines, ticket=ticket)


def _from_problem(problem: Refused) -> PageRefusal:
    """The page's words for a refusal of the shared bind."""
    extra = dict(problem.extra)
    # A refused code says why in its own words (another school's, expired ...); the rest in this page's.
    key = problem.error.key if problem.kind == "bad-code" and problem.error is not None else ""
    if key not in table():
        key = f"server.bind_page.problem.{problem.kind}"
    if key not in table():
        key = f"server.problem.{problem.kind}" if f"server.problem.{problem.kind}" in table() \
            else "server.problem.invalid"
    params: dict[str, object] = dict(problem.error.params) if problem.error is not None else {}
    if isinstance(extra.get("attempts_left"), int):
        params["attempts_left"] = extra["attempts_left"]
    if isinstance(extra.get("retry_after_s"), int):
        params["minutes"] = max(1, math.ceil(extra["retry_after_s"] / 60))
    return PageRefusal(problems.status_of(problem.kind), key, **params)


def read_code_image(data: bytes, scanner: Scanner) -> str:
    """The collection code's text in an uploaded image; ``PageRefusal`` when there is none to read."""
    if len(data) > MAX_IMAGE_BYTES:
        raise PageRefusal(413, "server.bind_page.problem.too_large", mb=MAX_IMAGE_BYTES // 1_000_000)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                width, height = probe.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        log.info("bind_page.refused why=not_image bytes=%d", len(data))
        raise PageRefusal(415, "server.bind_page.problem.not_image") from None
    if width * height > MAX_PIXELS:
        log.info("bind_page.refused why=too_many_pixels")
        raise PageRefusal(413, "server.bind_page.problem.too_many_pixels", mp=MAX_PIXELS // 1_000_000)
    image = picture_gray(data)
    if image is None:
        log.info("bind_page.refused why=undecodable")
        raise PageRefusal(415, "server.bind_page.problem.not_image")
    # A downloaded code may come without its white margin, which decoders need.
    gray = cv2.copyMakeBorder(image, 32, 32, 32, 32, cv2.BORDER_CONSTANT, value=255)
    found = scanner.decode(gray)
    if not found and max(gray.shape) > _RETRY_SIDE:
        scale = _RETRY_SIDE / max(gray.shape)
        found = scanner.decode(cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    kinds = [(classify(d.text), d.text) for d in found]
    for kind, payload in sorted(kinds, key=lambda k: {"code": 0, "other": 1, "ticket": 2}[k[0]]):
        if kind != "ticket":
            return payload
    log.info("bind_page.refused why=%s", "ticket_qr" if kinds else "no_qr")
    raise PageRefusal(422, "server.bind_page.problem.ticket_qr" if kinds else "server.bind_page.problem.no_qr")


def edge_refusal(status: int, slug: str, params: dict[str, object], headers: dict[str, str]) -> HTMLResponse:
    """The page for a form the server's edge refused (too large, too slow, too many attempts)."""
    key = f"server.bind_page.problem.{slug}"
    if key not in table():
        key = f"server.problem.{slug}" if f"server.problem.{slug}" in table() else "server.problem.invalid"
    return HTMLResponse(refusal_page(PageRefusal(status, key, **params)), status_code=status, headers=headers)


class DecodePool:
    """Worker threads that decode uploaded images: ``workers`` at once, ``queue`` more waiting, then busy."""

    def __init__(self, workers: int = DECODERS, queue: int = DECODE_QUEUE) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bind-decode")
        self._room = workers + queue
        self._taken = 0

    async def run(self, work: Callable[..., T], *args: object) -> T:
        """``work(*args)`` in a worker; ``PageRefusal`` 503 when the workers and their queue are full."""
        if self._taken >= self._room:
            log.warning("bind_page.refused why=decoders_busy")
            raise PageRefusal(503, "server.bind_page.problem.busy")
        self._taken += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)
        finally:
            self._taken -= 1


def _field(form: object, name: str, limit: int) -> str:
    value = form.get(name) if hasattr(form, "get") else None
    return value.strip()[:limit + 1] if isinstance(value, str) else ""


def make_router(binder: Binder, clock: Callable[[], datetime],
                scanner_settings: ScannerSection = SCANNER) -> APIRouter:
    """The ``/bind`` routes over ``binder`` (kept out of the OpenAPI schema: they are pages, not API)."""
    router = APIRouter(include_in_schema=False)

    pool = DecodePool()

    def check_fields(ticket: str, last4: str, pasted: str, image: bytes | None) -> None:
        if not ticket:
            raise PageRefusal(422, "server.bind_page.problem.missing_ticket")
        if not last4:
            raise PageRefusal(422, "server.bind_page.problem.missing_last4")
        if len(ticket) > _MAX_TICKET:
            raise PageRefusal(422, "server.bind_page.problem.bad-ticket")
        if len(last4) > _MAX_LAST4:
            raise PageRefusal(422, "server.bind_page.problem.wrong-last-four")
        if len(pasted) > _MAX_PAYLOAD:
            raise PageRefusal(422, "server.bind_page.problem.bad-code")
        if not pasted and not image:
            raise PageRefusal(422, "server.bind_page.problem.missing_code")

    def bind(ticket: str, last4: str, payload: str, client: str) -> BindResponse:
        try:
            return binder.bind(ticket, payload, last4, trusted=False, now=clock(), client=client)
        except Refused as problem:
            raise _from_problem(problem) from None

    def bind_unknown(ticket: str, last4: str, client: str) -> BindResponse:
        # A bind without a code still counts against the caller; its answer is the one a phone gets for an
        # unknown ticket with a readable code (the ticket and the last four do not match), whatever the image.
        try:
            return binder.bind(ticket, "", last4, trusted=False, now=clock(), client=client)
        except Refused as problem:
            refusal = _from_problem(problem)
            if problem.kind == "bad-code":
                refusal = PageRefusal(422, "server.bind_page.problem.wrong-last-four", **{
                    k: v for k, v in refusal.params.items() if k == "attempts_left"})
            raise refusal from None
        except KioskError as exc:  # the binder maps its own; this is belt and braces for a page
            log.warning("bind_page.refused why=%s", exc.key)
            raise PageRefusal(422, exc.key) from None

    def ticket_known(ticket: str) -> bool:
        try:
            return binder.has_ticket(ticket)
        except Refused as problem:
            raise _from_problem(problem) from None

    async def bind_from(ticket: str, last4: str, pasted: str, image: bytes | None, client: str) -> BindResponse:
        check_fields(ticket, last4, pasted, image)
        if pasted:
            return await run_in_threadpool(bind, ticket, last4, pasted, client)
        assert image is not None
        if not await run_in_threadpool(ticket_known, ticket):
            return await run_in_threadpool(bind_unknown, ticket, last4, client)  # the image is never looked at
        payload = await pool.run(read_code_image, image, Scanner(scanner_settings))
        return await run_in_threadpool(bind, ticket, last4, payload[:_MAX_PAYLOAD], client)

    @router.get(PATH, response_class=HTMLResponse)
    def bind_form(ticket: str = Query("")) -> HTMLResponse:
        """The form, the ticket prefilled from ``?ticket=``."""
        return HTMLResponse(form_page(ticket))

    @router.post(PATH, response_class=HTMLResponse)
    async def bind_submit(request: Request) -> HTMLResponse:
        """Read the form (and the code's image), bind, and answer with a page."""
        try:
            form = await request.form(max_files=2, max_fields=8)
        except StarletteHTTPException:
            log.info("bind_page.refused why=unreadable_form")
            return HTMLResponse(refusal_page(PageRefusal(400, "server.bind_page.problem.unreadable_form")),
                                status_code=400)
        ticket = _field(form, "ticket", _MAX_TICKET)
        upload = form.get("code_image")
        image: bytes | None = None
        if isinstance(upload, UploadFile):
            image = await upload.read(MAX_IMAGE_BYTES + 1)
        try:
            bound = await bind_from(ticket, _field(form, "id_last4", _MAX_LAST4),
                                    _field(form, "code_text", _MAX_PAYLOAD), image,
                                    request.client.host if request.client is not None else "-")
        except PageRefusal as refusal:
            return HTMLResponse(refusal_page(refusal, ticket), status_code=refusal.status)
        finally:
            await form.close()
        return HTMLResponse(success_page(bound))

    return router
