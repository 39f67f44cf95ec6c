"""Review with the admin token, and a record's photo for a reviewer.

``GET /api/v1/review/queue`` and ``POST /api/v1/review/{id}`` are the admin
token's way to review (scripts, tools); the console's own calls, claims and
dashboard, are in kiosk/server/console_api.py. A record a reviewer holds on the
console is refused to the admin token ("claimed"), so the two never decide at once.
"""

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from kiosk.server import problems
from kiosk.server.blobs import BlobStore
from kiosk.server.callers import ADMIN, Callers
from kiosk.server.console_auth import Principal
from kiosk.server.records import RecordBook
from kiosk.server.refusals import Refused
from kiosk.server.review_desk import ReviewDesk
from kiosk.server.schema import ReviewAction, ReviewQueue, ReviewResult

API = "/api/v1"


def make_router(*, records: RecordBook, desk: ReviewDesk, photos: BlobStore, callers: Callers,
                clock: Callable[[], datetime]) -> APIRouter:
    """The photo for reviewers, the admin's queue and decision (mounted at the root)."""
    router = APIRouter()
    Admin = Annotated[str, Depends(callers.admin)]

    @router.get(f"{API}/records/{{record_id}}/photo", tags=["review"], response_class=Response,
                responses={200: {"content": {"image/jpeg": {}}}, **problems.responses(401, 403, 404)})
    def record_photo(record_id: uuid.UUID, who: Annotated[Principal, Depends(callers.reviewer)]) -> Response:
        """The record's photo, for a reviewer (console session or admin token)."""
        sha = records.photo_sha256(str(record_id))
        data = photos.get(sha) if sha is not None else None
        if data is None:
            raise Refused("unknown-record", "no record with this id")
        return Response(data, media_type="image/jpeg")

    @router.get(f"{API}/review/queue", response_model=ReviewQueue, tags=["admin"],
                responses=problems.responses(401, 403))
    def review_queue(who: Admin,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                     offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                     batch: Annotated[str | None, Query(max_length=8, description="only this batch")] = None,
                     ) -> ReviewQueue:
        """Records waiting for review, first in line first, with their queue positions."""
        return records.queue(limit, offset, batch.strip().upper() if batch else None)

    @router.post(f"{API}/review/{{record_id}}", response_model=ReviewResult, tags=["admin"],
                 responses=problems.responses(401, 403, 404, 409, 422))
    def review(record_id: uuid.UUID, body: ReviewAction, who: Admin) -> ReviewResult:
        """Approve or reject (with a reason) a queued record; confirm an approved one (audited as "admin").

        Refused with 409 while a reviewer holds the record on the console.
        """
        desk.refuse_if_held(str(record_id), ADMIN, clock())
        return records.review(str(record_id), body.action, body.reason, clock(), reviewer=ADMIN)

    return router
