"""The wire shapes of the server's API, as pydantic models (they also make the OpenAPI spec).

Field names and meanings follow docs/architecture.md; the station's sync client is
written against them. Unknown fields in a record's metadata are ignored rather
than refused, so a newer station can talk to an older server without its records
being refused; everything the server relies on is checked.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from kiosk.batch import BatchError, normalise_feature_code

SHA256_PATTERN = r"^[0-9a-f]{64}$"

#: review statuses a record moves through on the server
Status = Literal["awaiting_code", "queued", "approved", "rejected", "confirmed", "duplicate"]

#: capture methods a batch may allow
Method = Literal["code", "codeless"]

_SHA256 = re.compile(SHA256_PATTERN)


def _feature_code(value: str) -> str:
    try:
        return normalise_feature_code(value)
    except BatchError:
        raise ValueError("a feature code is 4-8 letters or digits") from None


class RecordMetadata(BaseModel):
    """The ``metadata`` part of an uploaded record."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    record_id: uuid.UUID
    batch: str = Field(min_length=4, max_length=8)
    station_id: str = Field(min_length=1, max_length=64)
    captured_at: AwareDatetime
    monotonic_ns: int | None = Field(default=None, ge=0, le=2**63 - 1)
    boot_id: str | None = Field(default=None, max_length=64)
    codeless: bool = False
    ticket: str | None = Field(default=None, max_length=32)
    code_payload: str | None = Field(default=None, max_length=4096)
    code: dict[str, Any] | None = None
    id_last4: str | None = Field(default=None, max_length=16)
    phone: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=64)
    photo_sha256: str = Field(pattern=SHA256_PATTERN)
    photo_bytes: int = Field(gt=0, le=2**53)
    original_sha256: str | None = Field(default=None, pattern=SHA256_PATTERN)
    #: the student's capability to the status page (``/s/{status_secret}``), made on the station at
    #: capture so the Done screen's QR works offline; the server keeps only its sha256
    status_secret: str | None = Field(default=None, min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    #: the station's own compliance measurements of the photo (head top, eye line, face width, background ...),
    #: shown to the reviewer as sent: at most 40 values, each a number, true/false or a short text
    measurements: dict[Annotated[str, Field(max_length=64)],
                       float | bool | Annotated[str, Field(max_length=64)] | None] | None = Field(default=None,
                                                                                             max_length=40)
    #: staff allowed religious or medical headwear for this one capture (audited on the station); the
    #: reviewer sees it beside the photo
    headwear_allowed: bool = False

    @field_validator("batch")
    @classmethod
    def _batch(cls, value: str) -> str:
        return _feature_code(value)

    @field_validator("captured_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # Stored in UTC; a time that cannot be (year 1 at +14:00) or absurd years are refused here.
        try:
            utc = value.astimezone(UTC)
        except OverflowError:
            raise ValueError("capture time out of range") from None
        if not 2000 <= utc.year <= 2999:
            raise ValueError("capture time out of range")
        return utc

    @model_validator(mode="after")
    def _code_or_ticket(self) -> RecordMetadata:
        if self.codeless and not self.ticket:
            raise ValueError("a codeless record needs its claim ticket")
        if not self.codeless and not self.code_payload:
            raise ValueError("a record with a code needs its code_payload")
        return self

    def canonical(self) -> str:
        """The metadata as canonical JSON: equal records give equal text."""
        # Left out when false, so that a record uploaded before the field existed replays with the
        # same text (and fingerprint) as the server stored then.
        return self.model_dump_json(exclude=None if self.headwear_allowed else {"headwear_allowed"})


class RecordAck(BaseModel):
    """The answer to an accepted upload."""

    record_id: str
    photo_sha256: str
    status: Status
    queue_position: int | None
    #: the claim ticket the server holds for a codeless record: the station's own, or a fresh one the
    #: server gave when another station's record already held it (tickets are unique server-wide)
    ticket: str | None = None


class StatusRequest(BaseModel):
    """Record ids whose review status a station asks for."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"ids": ["6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b"]}]})

    # a constrained str also refuses a lone surrogate (valid JSON, not storable as UTF-8) with a 422
    ids: list[Annotated[str, Field(max_length=64)]] = Field(max_length=1000)


class RecordStatus(BaseModel):
    """One record's review status; ``status`` is "unknown" for an id the server has not received."""

    record_id: str
    status: Status | Literal["unknown"]
    queue_position: int | None = None
    reason: str | None = None


class StatusResponse(BaseModel):
    """Review statuses, in the order asked."""

    records: list[RecordStatus]


class BindRequest(BaseModel):
    """Bind a collection code to the codeless record holding ``ticket``."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"ticket": "ABCD-EFGH-J", "code_payload": "KC1.k1.AAAA", "id_last4": "123X"}]})

    ticket: str = Field(min_length=1, max_length=32)
    code_payload: str = Field(min_length=1, max_length=4096)
    id_last4: str = Field(min_length=1, max_length=16)


class Unlocked(BaseModel):
    """A lifted bind lock."""

    unlocked: bool = Field(description="whether the ticket had wrong guesses counted or a lock")


class BindResponse(BaseModel):
    """The bound record."""

    record_id: str
    status: Status


class ReviewAction(BaseModel):
    """A reviewer's decision; a rejection needs a reason (shown to the student: retake)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"action": "reject", "reason": "眼睛闭合，请重拍"}]})

    action: Literal["approve", "reject", "confirm"]
    reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _reason(self) -> ReviewAction:
        if self.action == "reject" and not (self.reason or "").strip():
            raise ValueError("a rejection needs a reason")
        return self


class ReviewItem(BaseModel):
    """A record waiting for review."""

    record_id: str
    batch: str
    station_id: str
    captured_at: str
    photo_sha256: str
    queue_position: int


class ReviewQueue(BaseModel):
    """Records waiting for review, first in line first."""

    records: list[ReviewItem]
    total: int


class ReviewResult(BaseModel):
    """A record after a review action."""

    record_id: str
    status: Status
    reason: str | None = None


class BatchModel(BaseModel):
    """A collection day (the wire form of ``kiosk.batch.Batch``)."""

    feature_code: str = Field(min_length=4, max_length=8)
    school_code: str = Field(max_length=64)
    school_name: str = Field(max_length=200)
    start_date: str = Field(max_length=32)
    end_date: str = Field(max_length=32)
    hours: str = Field(default="08:30-17:00", max_length=64)
    fee_required: bool = False
    fee_note: str = Field(default="", max_length=500)
    methods: list[Method] = Field(default_factory=lambda: list[Method](["code", "codeless"]))
    background: Literal["blue", "white", "grey"] = "blue"
    help_phone: str = Field(default="", max_length=64)
    help_hours: str = Field(default="", max_length=200)

    @field_validator("feature_code")
    @classmethod
    def _code(cls, value: str) -> str:
        return _feature_code(value)

    @model_validator(mode="after")
    def _dates(self) -> BatchModel:
        try:
            start, end = date.fromisoformat(self.start_date), date.fromisoformat(self.end_date)
        except ValueError:
            raise ValueError("start_date and end_date are ISO dates (YYYY-MM-DD)") from None
        if end < start:
            raise ValueError("end_date is before start_date")
        return self


class TokenRequest(BaseModel):
    """A station to issue a token for."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"station_id": "pku-haidian.station-01"}]})

    #: unique server-wide: a server shared by campuses names stations ``<campus>.<station>``
    station_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    #: replace a live token of this station (which then stops working); without it a live one is 409
    rotate: bool = False


class TokenResponse(BaseModel):
    """A new station token: shown once, stored only as its hash."""

    station_id: str
    token: str


class Revoked(BaseModel):
    """A revoked station token."""

    station_id: str
    revoked: bool


class Health(BaseModel):
    """The server is up."""

    status: Literal["ok"]
    time: datetime


def is_sha256(text: str) -> bool:
    """Whether ``text`` is a lower-case hex sha256."""
    return bool(_SHA256.match(text))


class ProblemDoc(BaseModel):
    """An ``application/problem+json`` refusal."""

    type: str
    title: str
    status: int
    detail: str
