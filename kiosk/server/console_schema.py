"""Wire shapes of the review console's API and of the stations' heartbeat and help calls.

They are part of the OpenAPI spec like every other call: the console's pages
use exactly these, with a session cookie instead of the admin token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from kiosk.server.schema import Status

#: the standard rejection reasons, in the order of their keys 1-9 on the review page
REASONS = ("background", "headwear", "glare", "eyes_closed", "expression", "blur", "framing", "not_student", "other")
ReasonCode = Literal["background", "headwear", "glare", "eyes_closed", "expression", "blur", "framing",
                     "not_student", "other"]
HelpReason = Literal["lockout", "no_code", "camera_lost", "save_failed", "other"]


class Identity(BaseModel):
    """The masked identity a collection code shows (nothing more)."""

    school_name: str = ""
    masked_name: str = ""
    student_number: str = ""
    level: str = ""


class EarlierCapture(BaseModel):
    """Another record of the same student."""

    record_id: str
    captured_at: str
    station_id: str
    status: Status
    reason: str | None = None


class ReviewDetail(BaseModel):
    """A record held for one reviewer, with what the review page shows."""

    record_id: str
    batch: str
    station_id: str
    captured_at: str
    queue_position: int | None
    identity: Identity | None
    measurements: dict[str, float | int | bool | str | None]
    #: staff at the station allowed religious or medical headwear for this capture
    headwear_allowed: bool = False
    previous: list[EarlierCapture]
    claimed_by: str
    claim_expires_at: str
    photo_url: str


class ClaimRequest(BaseModel):
    """Ask for the next record waiting (of one batch, when given)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"batch": "1S95KT"}]})

    batch: str | None = Field(default=None, max_length=8)


class ClaimAnswer(BaseModel):
    """The record now held for the caller, or null when nothing is waiting."""

    record: ReviewDetail | None
    waiting: int


class Decision(BaseModel):
    """A reviewer's decision on a record the reviewer holds; a rejection names a standard reason."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"action": "approve"}, {"action": "reject", "reason": "eyes_closed"},
        {"action": "reject", "reason": "other", "note": "衣领遮挡下巴"}]})

    action: Literal["approve", "reject"]
    reason: ReasonCode | None = None
    note: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _reason(self) -> Decision:
        if self.action == "reject" and self.reason is None:
            raise ValueError("a rejection needs a reason")
        if self.action == "approve" and (self.reason is not None or self.note):
            raise ValueError("an approval takes no reason")
        if self.reason == "other" and not (self.note or "").strip():
            raise ValueError("the reason 'other' needs a note")
        return self


class StationRow(BaseModel):
    """A station's last heartbeat."""

    station_id: str
    version: str
    queue_length: int
    sent_at: str
    received_at: str
    silent: bool


class HelpRow(BaseModel):
    """A help request not yet acknowledged on its station."""

    request_id: str
    station_id: str
    reason: HelpReason
    raised_at: str


class HourRow(BaseModel):
    """Records received and decisions made in one hour (``hour``: its start, UTC)."""

    hour: str
    received: int
    decided: int


class Dashboard(BaseModel):
    """One batch at a glance."""

    batch: str | None
    batches: list[str]
    counts: dict[str, int]
    throughput: list[HourRow]
    stations: list[StationRow]
    help: list[HelpRow]
    generated_at: str


class Heartbeat(BaseModel):
    """A station is alive: its software version and how many records wait on it to be sent."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"version": "0.1.0", "queue_length": 3, "sent_at": "2026-06-01T09:30:00+08:00"}]})

    version: str = Field(min_length=1, max_length=64)
    queue_length: int = Field(ge=0, le=1_000_000)
    sent_at: AwareDatetime


class HeartbeatAck(BaseModel):
    """The heartbeat was stored."""

    station_id: str
    received_at: datetime


class HelpRequest(BaseModel):
    """A station asks for staff; ``acknowledged_at`` is set once someone came."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"reason": "camera_lost", "raised_at": "2026-06-01T09:30:00+08:00", "acknowledged_at": None}]})

    reason: HelpReason
    raised_at: AwareDatetime
    acknowledged_at: AwareDatetime | None = None


class HelpAck(BaseModel):
    """The help request as stored."""

    request_id: str
    station_id: str
    reason: HelpReason
    raised_at: str
    acknowledged_at: str | None
