"""The station upload ``PUT /api/v1/records/{id}``: its checks, and its own lean path through the server.

The upload is most of the server's traffic, and going through FastAPI (routing
down the route list, the dependency solver, the exception middleware, the
request and response objects) cost it about as much CPU as storing the record.
``UploadPath`` is a pure ASGI middleware just inside the edge guard
(kiosk/server/limits.py) that answers this one method and path itself: the
guard has already bounded the body and checked the token (the caller it found
is in the scope), so what is left is reading the body, cutting it into its parts
(kiosk/server/form_parts.py), one hand-over to a worker thread for
``UploadReceiver.receive`` and writing the answer. Refusals are answered by the
same function as the application's handlers (``problems.answer``), the security
headers are added outside it as for every answer, and a bug propagates to the
application's outermost handler (500), so a client sees exactly what the
FastAPI route answers.

Anything it is not sure to answer as the route would (a record id not in a
canonical form, a token the guard did not check) goes on to FastAPI untouched,
before a byte of the body is read. The FastAPI route stays registered, with the
same ``UploadReceiver``: it describes the call in the OpenAPI document and
answers those requests.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime, timedelta
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from kiosk.server import problems
from kiosk.server.batches import BatchBook
from kiosk.server.blobs import BlobStore
from kiosk.server.callers import ADMIN
from kiosk.server.db import Database
from kiosk.server.form_parts import FormError, form_parts
from kiosk.server.limits import bearer_token, verified_caller
from kiosk.server.records import RecordBook, Upload
from kiosk.server.refusals import Refused
from kiosk.server.retention import discard_orphans
from kiosk.server.schema import RecordAck, RecordMetadata
from kiosk.server.upload_checks import check_capture_time

Message = MutableMapping[str, Any]

#: the upload's path with a record id in a form the route's UUID parameter reads the same way
_PATH = re.compile(r"/api/v1/records/([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
                   r"|[0-9A-Fa-f]{32})")


class UploadReceiver:
    """What an upload's parts go through, whichever path it came by: checks, then the record book."""

    def __init__(self, *, records: RecordBook, batches: BatchBook, db: Database, photos: BlobStore,
                 clock: Callable[[], datetime], capture_skew: timedelta) -> None:
        self._records = records
        self._batches = batches
        self._db = db
        self._photos = photos
        self._clock = clock
        self._capture_skew = capture_skew

    @staticmethod
    def parts(body: bytes, content_type: str, record_id: uuid.UUID, idempotency_key: str | None) -> dict[str, bytes]:
        """The upload's form parts, checked as far as the request tells (on the event loop: no I/O).

        Refused "bad-request" for a body that is not the form, a validation error naming missing
        parts, "idempotency-key" when the header is not the record id.
        """
        try:
            parts = form_parts(body, content_type)
        except FormError as exc:
            raise Refused("bad-request", str(exc)) from None
        missing = [name for name in ("metadata", "photo") if name not in parts]
        if missing:
            raise RequestValidationError([{"type": "missing", "loc": ("body", name), "msg": "Field required",
                                           "input": None} for name in missing])
        if idempotency_key is None or idempotency_key.strip().lower() != str(record_id):
            raise Refused("idempotency-key", "the Idempotency-Key header must equal the record id")
        return parts

    def receive(self, record_id: uuid.UUID, who: str, parts: dict[str, bytes]) -> tuple[RecordAck, bool]:
        """Check and store the upload's parts (in a worker thread): its acknowledgement, whether it was new."""
        meta = _metadata(parts["metadata"], record_id)
        check_capture_time(meta.captured_at, self._batches.recent(meta.batch), self._clock(), self._capture_skew)
        photo_data, original_data = parts["photo"], parts.get("original")
        try:
            return self._records.accept(Upload(meta, photo_data, original_data), who, self._clock(),
                                        station_id=None if who == ADMIN else who)
        except Refused as refused:
            if problems.status_of(refused.kind) == 422:  # refused after its files were written: none may stay
                discard_orphans(self._db, self._photos, [hashlib.sha256(data).hexdigest()
                                                         for data in (photo_data, original_data) if data is not None])
            raise

    @staticmethod
    def response(ack: RecordAck, created: bool) -> Response:
        """The answer to a received upload: 201 the first time, 200 on an identical replay."""
        return Response(ack.model_dump_json(), status_code=201 if created else 200, media_type="application/json")


class UploadPath:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp, *, receiver: UploadReceiver) -> None:
        self.app = app
        self.receiver = receiver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer an upload whose caller the edge checked; hand anything else on."""
        if scope["type"] != "http" or scope["method"] != "PUT":
            await self.app(scope, receive, send)
            return
        found = _PATH.fullmatch(scope["path"])
        if found is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        token = bearer_token(headers)
        who = verified_caller(scope, token) if token is not None else None
        if who is None:
            await self.app(scope, receive, send)
            return
        record_id = uuid.UUID(found.group(1))
        try:
            parts = self.receiver.parts(await _body(receive), headers.get("content-type", ""), record_id,
                                        headers.get("idempotency-key"))
            ack, created = await run_in_threadpool(self.receiver.receive, record_id, who, parts)
            answer = self.receiver.response(ack, created)
        except Exception as exc:
            known = problems.answer(Request(scope).url.path, exc)
            if known is None:
                raise
            answer = known
        await answer(scope, receive, send)


async def _body(receive: Callable[[], Awaitable[Message]]) -> bytes:
    """The request's whole body, as ``Request.body()`` reads it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()


def _metadata(text: bytes, record_id: uuid.UUID) -> RecordMetadata:
    """The upload's metadata part, checked; refused as "invalid-metadata" naming the first bad field."""
    try:
        meta = RecordMetadata.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "metadata"
        raise Refused("invalid-metadata", f"{where}: {first.get('msg', 'invalid')}",
                      errors=[{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", "")}
                              for e in exc.errors()]) from None
    if meta.record_id != record_id:
        raise Refused("invalid-metadata", "metadata.record_id must equal the record id in the path")
    return meta
