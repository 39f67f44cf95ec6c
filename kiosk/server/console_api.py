"""The review console's JSON API: take the next record, decide, watch a batch.

The console's pages call exactly these (with the session cookie and the CSRF
header); scripts and other tools call them with the admin token. They are in
the OpenAPI spec under the tag "review".
"""

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from kiosk.batch import BatchError, normalise_feature_code
from kiosk.server import dashboard
from kiosk.server.console_auth import COORDINATE_ROLES, REVIEW_ROLES, Gate, Principal
from kiosk.server.console_schema import ClaimAnswer, ClaimRequest, Dashboard, Decision, ReviewDetail
from kiosk.server.db import Database
from kiosk.server.review_desk import ReviewDesk
from kiosk.server.schema import ReviewResult
from kiosk.server.station_board import StationBoard


def batch_filter(value: str | None) -> str | None:
    """A batch given by a caller, normalised; None for none or one that cannot be a feature code."""
    if not value or not value.strip():
        return None
    try:
        return normalise_feature_code(value)
    except BatchError:
        return None


def make_router(db: Database, desk: ReviewDesk, board: StationBoard, gate: Gate, *, clock: Callable[[], datetime],
                silent_s: float, problem_responses: Callable[..., dict[int | str, dict[str, Any]]]) -> APIRouter:
    """The review and dashboard calls."""
    router = APIRouter(prefix="/api/v1", tags=["review"])
    Reviewer = Annotated[Principal, Depends(gate.require(*REVIEW_ROLES))]
    Coordinator = Annotated[Principal, Depends(gate.require(*COORDINATE_ROLES))]

    @router.post("/review/claim", response_model=ClaimAnswer, responses=problem_responses(401, 403, 422))
    def claim_next(who: Reviewer, body: ClaimRequest | None = None) -> ClaimAnswer:
        """Hold the next record waiting for the caller (the one already held, if any); null when none waits."""
        return desk.next(who.name, clock(), batch_filter(body.batch if body else None))

    @router.post("/review/{record_id}/claim", response_model=ReviewDetail,
                 responses=problem_responses(401, 403, 404, 409))
    def claim_record(record_id: uuid.UUID, who: Reviewer) -> ReviewDetail:
        """Hold this record for the caller: 409 while another reviewer holds it, 404 when it is not waiting."""
        return desk.open(str(record_id), who.name, clock())

    @router.delete("/review/{record_id}/claim", status_code=204, responses=problem_responses(401, 403))
    def release(record_id: uuid.UUID, who: Reviewer) -> None:
        """Give the record back to the queue (only its holder can)."""
        desk.release(str(record_id), who.name)

    @router.post("/review/{record_id}/decision", response_model=ReviewResult,
                 responses=problem_responses(401, 403, 404, 409, 422))
    def decide(record_id: uuid.UUID, body: Decision, who: Reviewer) -> ReviewResult:
        """Approve, or reject with a standard reason, a record the caller holds (or that nobody holds).

        The decision is audited with the caller's name; the claim ends with it.
        """
        return desk.decide(str(record_id), who.name, body, clock())

    @router.get("/dashboard", response_model=Dashboard, responses=problem_responses(401, 403, 422))
    def get_dashboard(who: Coordinator,
                      batch: Annotated[str | None, Query(max_length=8, description="feature code")] = None
                      ) -> Dashboard:
        """A batch at a glance: records by state, throughput per hour, stations, open help requests."""
        return dashboard.board(db, board, batch_filter(batch), clock(), silent_s)

    return router
