"""Station calls about a student: the current record of a student (a second station asks before
capturing twice) and the phone number a student left for review results.

``POST /api/v1/students/lookup`` and ``PUT /api/v1/records/{record_id}/contact``;
both need a station token, and the station comes from the token, never the body.
"""


import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, field_validator

from kiosk.batch import BatchError, normalise_feature_code
from kiosk.server import problems
from kiosk.server.refusals import Refused
from kiosk.server.schema import Status
from kiosk.server.students import StudentBook

log = logging.getLogger(__name__)


class LookupRequest(BaseModel):
    """A student of a batch, by the uid in their collection code."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"batch": "1S95KT", "student_uid": "u-2026-0001"}]})

    batch: str = Field(min_length=4, max_length=8)
    student_uid: str = Field(min_length=1, max_length=128)

    @field_validator("batch")
    @classmethod
    def _batch(cls, value: str) -> str:
        try:
            return normalise_feature_code(value)
        except BatchError:
            raise ValueError("a feature code is 4-8 letters or digits") from None


class LookupRecord(BaseModel):
    """The student's current record: the one in review, else the latest rejected."""

    record_id: str
    status: Status
    queue_position: int | None
    reason: str | None
    captured_at: str
    station_id: str


class LookupResponse(BaseModel):
    """The student's current record in the batch, or null."""

    record: LookupRecord | None


class ContactRequest(BaseModel):
    """The phone number a student left on the Done screen, with their consent to be sent the result."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"phone": "13800138000", "consent": True}]})

    phone: str = Field(pattern=r"^1[0-9]{10}$")
    consent: Literal[True] = Field(description="must be true: a number is kept only with consent")


class ContactResponse(BaseModel):
    """The number is kept for this record's review results."""

    record_id: str
    consent: bool


def make_router(students: StudentBook, station_auth: Callable[..., str],
                clock: Callable[[], datetime] | None = None) -> APIRouter:
    """The two station routes (mounted under ``/api/v1``)."""
    router = APIRouter(tags=["station"])

    def now() -> datetime:
        return clock() if clock is not None else datetime.now(UTC)

    @router.post("/students/lookup", response_model=LookupResponse, responses=problems.responses(401, 422))
    def lookup(body: LookupRequest, who: Annotated[str, Depends(station_auth)]) -> LookupResponse:
        """The student's current record in the batch (so a second station shows it instead of capturing again)."""
        found = students.lookup(body.batch, body.student_uid)
        return LookupResponse(record=LookupRecord.model_validate(found) if found else None)

    @router.put("/records/{record_id}/contact", response_model=ContactResponse,
                responses=problems.responses(401, 404, 422))
    def contact(record_id: uuid.UUID, body: ContactRequest,
                who: Annotated[str, Depends(station_auth)]) -> ContactResponse:
        """Keep the student's phone number for the review result (only the uploading station may)."""
        if not students.set_contact(str(record_id), who, body.phone, now()):
            raise Refused("unknown-record", "no record with this id was uploaded by this station")
        return ContactResponse(record_id=str(record_id), consent=True)

    return router
