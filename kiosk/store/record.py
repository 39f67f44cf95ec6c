"""A record: one student's capture session as the station stores and syncs it.

``NewRecord`` is what the capture hands the store; ``Record`` is a stored row
with its identity, capture clock, photo file and sync/review state. The store
never imports ``kiosk.codes``: a code arrives here as its payload and its
public (masked) fields.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: the one text form of times in the database and on the wire; text order is time order
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(moment: datetime) -> str:
    """``moment`` (aware) as fixed-width ISO 8601 UTC text."""
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text: str | None) -> datetime | None:
    """The aware datetime of ``format_time`` text (or any ISO 8601 text); None stays None."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def from_epoch(seconds: float | None) -> datetime | None:
    """An aware UTC datetime from epoch seconds; None stays None."""
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def read_boot_id() -> str:
    """This boot's id: monotonic clocks are only comparable within one boot.

    Linux gives it in ``/proc``; elsewhere the boot time (wall minus monotonic,
    to the second) stands in for it.
    """
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text("ascii").strip()
    except OSError:
        return f"boot-{round(time.time() - time.monotonic())}"


def sha256_hex(data: bytes) -> str:
    """The hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def card_path(photo_path: str) -> str:
    """The record card beside a photo (``photos/<id>.json`` for ``photos/<id>.jpg``).

    The card holds the record's row as it was captured (personal data
    included, so it is private like the database) and lives and dies with the
    photo file: it is what ``kiosk records recover`` rebuilds a record from
    when the database is lost.
    """
    return str(Path(photo_path).with_suffix(".json"))


@dataclass(frozen=True)
class NewRecord:
    """What a capture hands the store (the photo bytes travel beside it)."""

    batch: str
    station_id: str
    code_payload: str | None = None
    code_fields: dict[str, Any] | None = None  # the code's public_fields(), masked
    student_uid: str | None = None
    id_last4: str | None = None
    codeless: bool = False
    ticket: str | None = None
    phone: str | None = None
    name: str | None = None
    status_secret: str | None = None  # the student's capability to their status page (sent in the upload)
    headwear_allowed: bool = False  # staff allowed religious/medical headwear for this capture
    #: the photo's own compliance measurements, for the reviewer (scalar values by short keys; None: none)
    measurements: dict[str, Any] | None = None


@dataclass(frozen=True)
class Record:
    """A stored record. ``photo_path``/``original_path`` are absolute."""

    id: str
    batch: str
    station_id: str
    code_payload: str | None
    code_fields: dict[str, Any] | None
    student_uid: str | None
    id_last4: str | None
    codeless: bool
    ticket: str | None
    phone: str | None
    name: str | None
    captured_at: datetime
    monotonic_ns: int
    boot_id: str
    photo_path: Path
    photo_sha256: str
    photo_bytes: int
    original_path: Path | None = None
    original_sha256: str | None = None
    sync_state: str = "pending"
    attempts: int = 0
    next_at: datetime | None = None
    lease_until: datetime | None = None
    last_error: str | None = None
    dead_reason: str | None = None
    sent_at: datetime | None = None
    review_status: str | None = None
    queue_position: int | None = None
    review_reason: str | None = None
    binding_state: str | None = None  # "pending" | "sent" | "failed" for a code bound after sending
    binding_error: str | None = None
    bind_last4: str | None = None  # the last four typed when the code was bound (pushed with the binding)
    photo_deleted_at: datetime | None = None
    quarantined: str | None = None  # why the record was moved aside at start, if it was
    status_secret: str | None = None
    contact_phone: str | None = None  # left on the Done screen, with consent, for review-result notices
    contact_state: str | None = None  # "pending" | "sent" | "failed": the notice phone's push to the server
    headwear_allowed: bool = False  # staff allowed religious/medical headwear for this capture (audited)
    server_ticket: str | None = None  # the server's ticket for this record, when another station's held ``ticket``
    measurements: dict[str, Any] | None = None  # the photo's compliance measurements, sent to the reviewer
    seq: int = field(default=0, compare=False)

    @property
    def claim_ticket(self) -> str | None:
        """The ticket the student claims this record with now: the server's after a clash, else the station's.

        ``ticket`` stays what the record was captured with: the upload sends it
        unchanged, so a replay matches what the server already holds.
        """
        return self.server_ticket or self.ticket

    @property
    def ticket_replaced(self) -> bool:
        """Whether the server gave this record another ticket than the one shown at capture."""
        return self.server_ticket is not None

    @property
    def has_code(self) -> bool:
        """Whether a collection code is attached (scanned at capture or bound later)."""
        return self.code_payload is not None

    def metadata(self) -> dict[str, Any]:
        """The ``metadata`` part of the upload (see the server's API).

        A code bound after an upload may have reached the server is left out:
        a replay must be identical to what the server may already hold, and
        the code travels as a separate binding instead.
        """
        late = self.binding_state is not None
        out: dict[str, Any] = {
            "record_id": self.id,
            "batch": self.batch,
            "station_id": self.station_id,
            "captured_at": format_time(self.captured_at),
            "monotonic_ns": self.monotonic_ns,
            "boot_id": self.boot_id,
            "codeless": self.codeless,
            "ticket": self.ticket,
            "code_payload": None if late else self.code_payload,
            "code": None if late else self.code_fields,
            "id_last4": self.id_last4,
            "phone": self.phone,
            "name": self.name,
            "photo_sha256": self.photo_sha256,
            "photo_bytes": self.photo_bytes,
            "original_sha256": self.original_sha256,
            "status_secret": self.status_secret,
            "headwear_allowed": self.headwear_allowed,
        }
        # left out when there are none: records stored before measurements were kept replay unchanged
        if self.measurements:
            out["measurements"] = self.measurements
        return out

    def summary(self) -> dict[str, Any]:
        """A JSON-ready view without personal data, for listings and logs."""
        return {
            "id": self.id,
            "batch": self.batch,
            "captured_at": format_time(self.captured_at),
            "codeless": self.codeless,
            "has_code": self.has_code,
            "ticket": self.claim_ticket,
            "ticket_replaced": self.ticket_replaced,
            "sync_state": self.sync_state,
            "attempts": self.attempts,
            "next_at": format_time(self.next_at) if self.next_at else None,
            "last_error": self.last_error,
            "dead_reason": self.dead_reason,
            "review_status": self.review_status,
            "queue_position": self.queue_position,
            "review_reason": self.review_reason,
            "binding_state": self.binding_state,
            "photo_bytes": self.photo_bytes,
            "photo_deleted": self.photo_deleted_at is not None,
            "quarantined": self.quarantined,
            "headwear_allowed": self.headwear_allowed,
        }


def record_from_row(row: Any, data_dir: Path) -> Record:
    """A ``Record`` from a ``records`` row (a ``sqlite3.Row`` or a dict)."""
    fields = row["code_fields"]
    state = row["sync_state"]
    return Record(
        id=row["id"],
        batch=row["batch"],
        station_id=row["station_id"],
        code_payload=row["code_payload"],
        code_fields=json.loads(fields) if fields else None,
        student_uid=row["student_uid"],
        id_last4=row["id_last4"],
        codeless=bool(row["codeless"]),
        ticket=row["ticket"],
        phone=row["phone"],
        name=row["name"],
        captured_at=parse_time(row["captured_at"]) or datetime.fromtimestamp(0, UTC),
        monotonic_ns=row["monotonic_ns"],
        boot_id=row["boot_id"],
        photo_path=data_dir / row["photo_path"],
        photo_sha256=row["photo_sha256"],
        photo_bytes=row["photo_bytes"],
        original_path=data_dir / row["original_path"] if row["original_path"] else None,
        original_sha256=row["original_sha256"],
        sync_state=state,
        attempts=row["attempts"],
        next_at=from_epoch(row["due_at"]) if state == "retry" else None,
        lease_until=from_epoch(row["lease_until"]) if state == "sending" else None,
        last_error=row["last_error"],
        dead_reason=row["dead_reason"],
        sent_at=parse_time(row["sent_at"]),
        review_status=row["review_status"],
        queue_position=row["queue_position"],
        review_reason=row["review_reason"],
        binding_state=row["binding_state"],
        binding_error=row["binding_error"],
        bind_last4=row["bind_last4"],
        photo_deleted_at=parse_time(row["photo_deleted_at"]),
        quarantined=row["quarantined"],
        status_secret=_column(row, "status_secret"),
        contact_phone=_column(row, "contact_phone"),
        contact_state=_column(row, "contact_state"),
        headwear_allowed=bool(_column(row, "headwear_allowed")),
        server_ticket=_column(row, "server_ticket"),
        measurements=_json_column(row, "measurements"),
        seq=row["seq"],
    )


def capture_row(record: Record, data_dir: Path) -> dict[str, Any]:
    """The ``records`` row of a record just captured: what is inserted, and what its record card holds."""
    return {
        "id": record.id, "batch": record.batch, "station_id": record.station_id, "code_payload": record.code_payload,
        "code_fields": json.dumps(record.code_fields, ensure_ascii=False) if record.code_fields is not None else None,
        "student_uid": record.student_uid, "id_last4": record.id_last4, "codeless": int(record.codeless),
        "ticket": record.ticket, "phone": record.phone, "name": record.name,
        "captured_at": format_time(record.captured_at),
        "captured_day": record.captured_at.astimezone().date().isoformat(), "monotonic_ns": record.monotonic_ns,
        "boot_id": record.boot_id, "photo_path": str(record.photo_path.relative_to(data_dir)),
        "photo_sha256": record.photo_sha256, "photo_bytes": record.photo_bytes,
        "original_path": str(record.original_path.relative_to(data_dir)) if record.original_path else None,
        "original_sha256": record.original_sha256, "status_secret": record.status_secret,
        "headwear_allowed": int(record.headwear_allowed),
        "measurements": json.dumps(record.measurements, ensure_ascii=False) if record.measurements else None,
    }


def _column(row: Any, name: str) -> Any:
    """A column added by a later migration; None in rows read by older code paths (dicts in tests)."""
    try:
        return row[name]
    except (KeyError, IndexError):
        return None


def _json_column(row: Any, name: str) -> dict[str, Any] | None:
    """A JSON object column added by a later migration; None when empty or unreadable (shown as no value)."""
    text = _column(row, name)
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) and value else None
