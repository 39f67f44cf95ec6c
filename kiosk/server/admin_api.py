"""The admin token's calls: batches, station tokens, lifting a ticket's bind lock."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from kiosk.batch import Batch
from kiosk.server import problems
from kiosk.server.auth import StationActive, StationTokens
from kiosk.server.batches import BatchBook
from kiosk.server.binding import Binder
from kiosk.server.callers import Callers
from kiosk.server.refusals import Refused
from kiosk.server.schema import BatchModel, Revoked, TokenRequest, TokenResponse, Unlocked

API = "/api/v1"


def make_router(*, batches: BatchBook, tokens: StationTokens, binder: Binder, callers: Callers,
                clock: Callable[[], datetime]) -> APIRouter:
    """The admin calls (mounted at the root; paths under ``/api/v1``)."""
    router = APIRouter(tags=["admin"])
    Admin = Annotated[str, Depends(callers.admin)]

    @router.delete(f"{API}/bind/locks/{{ticket}}", response_model=Unlocked,
                   responses=problems.responses(401, 403, 422))
    def unlock_ticket(ticket: str, who: Admin) -> Unlocked:
        """Lift a ticket's bind lock (staff, once they have seen the student); forgets its wrong guesses."""
        return Unlocked(unlocked=binder.unlock(ticket))

    @router.post(f"{API}/batches", response_model=BatchModel, status_code=201,
                 responses={200: {"model": BatchModel, "description": "replaced"},
                            **problems.responses(401, 403, 422)})
    def put_batch(body: BatchModel, response: Response, who: Admin) -> BatchModel:
        """Create (201) or replace (200) a batch."""
        created = batches.put(Batch.from_json(body.model_dump()), clock())
        response.status_code = 201 if created else 200
        return body

    @router.post(f"{API}/tokens", response_model=TokenResponse, status_code=201,
                 responses=problems.responses(401, 403, 409, 422))
    def issue_token(body: TokenRequest, who: Admin) -> TokenResponse:
        """Issue a station token, shown only in this answer; 409 if the station has a live one (unless rotate)."""
        try:
            token = tokens.issue(body.station_id, clock(), rotate=body.rotate)
        except StationActive:
            raise Refused("station-active", "this station id has a live token; send rotate to replace it") \
                from None
        return TokenResponse(station_id=body.station_id, token=token)

    @router.delete(f"{API}/tokens/{{station_id}}", response_model=Revoked,
                   responses=problems.responses(401, 403, 404))
    def revoke_token(station_id: str, who: Admin) -> Revoked:
        """Revoke a station's token: its next call gets 401."""
        if not tokens.revoke(station_id, clock()):
            raise Refused("unknown-station", "no token was issued for this station")
        return Revoked(station_id=station_id, revoked=True)

    return router
