"""The station API: a batch's settings, uploading records, their review status, binding a code.

``PUT /api/v1/records/{id}`` takes the record as multipart (metadata JSON, the
photo, the original) with ``Idempotency-Key`` equal to the record id: 201 the
first time, 200 with the same body on an identical replay. The bind call is
also a phone's (no token), rate-limited at the edge.
"""

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from kiosk.server import problems
from kiosk.server.batches import BatchBook
from kiosk.server.binding import Binder
from kiosk.server.callers import Callers, client_address
from kiosk.server.refusals import Refused
from kiosk.server.schema import BatchModel, BindRequest, BindResponse, RecordAck, StatusRequest, StatusResponse
from kiosk.server.status import StatusReader
from kiosk.server.upload_route import UploadReceiver

API = "/api/v1"
#: the upload's form as the OpenAPI document describes it (the route reads the body itself)
UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "title": "RecordUpload", "required": ["metadata", "photo"],
    "properties": {
        "metadata": {"type": "string", "title": "Metadata", "description": "the record's metadata, JSON text"},
        "photo": {"type": "string", "contentMediaType": "application/octet-stream", "title": "Photo",
                  "description": "the standard photo, image/jpeg"},
        "original": {"type": "string", "contentMediaType": "application/octet-stream", "title": "Original",
                     "description": "the head-and-shoulders original"}}}}}}


def make_router(*, receiver: UploadReceiver, statuses: StatusReader, batches: BatchBook, binder: Binder,
                callers: Callers, clock: Callable[[], datetime]) -> APIRouter:
    """The station's calls (mounted at the root; paths under ``/api/v1``)."""
    router = APIRouter()
    Station = Annotated[str, Depends(callers.station)]

    @router.get(f"{API}/batches/{{feature_code}}", response_model=BatchModel, tags=["station"],
                responses=problems.responses(401, 404))
    def get_batch(feature_code: str, who: Station) -> JSONResponse:
        """The batch (collection day) with this feature code."""
        batch = batches.get(feature_code)
        if batch is None:
            raise Refused("unknown-batch", "no batch with this feature code")
        # served as stored: a batch added in-process skipped the API's checks, and must not turn into a 500
        return JSONResponse(batch.to_json())

    @router.put(f"{API}/records/{{record_id}}", response_model=RecordAck, status_code=201, tags=["station"],
                responses={200: {"model": RecordAck, "description": "identical replay"},
                           **problems.responses(400, 401, 409, 413, 422)},
                openapi_extra={"requestBody": UPLOAD_BODY})
    async def put_record(
        *,
        record_id: uuid.UUID,
        request: Request,
        who: Station,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> Response:
        """Receive a record: 201 the first time, 200 with the same body on an identical replay."""
        # The form is read here rather than declared as Form and File parameters: the body is in
        # memory anyway (the edge bounds it), and cutting it at its boundaries costs a fraction of
        # the general parser's spooled files (kiosk/server/form_parts.py). The upload's own path
        # (kiosk/server/upload_route.py) answers most uploads before this route: the same steps.
        parts = receiver.parts(await request.body(), request.headers.get("content-type", ""), record_id,
                               idempotency_key)
        ack, created = await run_in_threadpool(receiver.receive, record_id, who, parts)
        return receiver.response(ack, created)

    @router.post(f"{API}/records/status", response_model=StatusResponse, tags=["station"],
                 responses=problems.responses(401, 422))
    async def record_status(body: StatusRequest, token: Annotated[str, Depends(callers.bearer)]) -> Response:
        """Review status and queue position of many records at once (a station's own records only)."""
        # the token checked and the statuses read in one hand-over, on the polls' own threads (never
        # behind uploads), answered as JSON text (see kiosk/server/status.py)
        answer = await to_thread.run_sync(statuses.answer, token, body.ids, limiter=statuses.limiter)
        return Response(answer, media_type="application/json")

    @router.post(f"{API}/bind", response_model=BindResponse, tags=["station", "public"],
                 responses=problems.responses(401, 404, 409, 422, 429, 503))
    def bind(body: BindRequest, request: Request,
             who: Annotated[str | None, Depends(callers.optional)]) -> BindResponse:
        """Bind a collection code to the codeless record holding the ticket (station, or phone without a token)."""
        try:
            return binder.bind(body.ticket, body.code_payload, body.id_last4, trusted=who is not None,
                               now=clock(), client=client_address(request), station=who)
        except Refused as refused:
            # the binder logs each refusal it decides on; only a mistyped ticket is refused before it looks
            refused.logged = refused.kind != "bad-ticket"
            raise

    return router

