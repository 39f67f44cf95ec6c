"""What the collection server accepts, checked on the station before a record is committed.

A record the server will always refuse (a photo over its size limit, a file
that is not a JPEG, a name longer than the server stores) must not be queued:
it would be dead-lettered at the next sync, long after the student has left.
The record's upload metadata is validated with the server's own pydantic model
(``kiosk.server.schema.RecordMetadata``, pydantic only, no web framework), and
its pictures with the server's own check (``kiosk.server.upload_checks``,
Pillow only), so the station and the server can never disagree; the photo is
checked against the server's default size limit and decoded in full.
"""

from __future__ import annotations

import logging
import math
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from kiosk.config import ServerSection
from kiosk.server.refusals import Refused
from kiosk.server.schema import RecordMetadata
from kiosk.server.upload_checks import check_jpeg as server_check_jpeg
from kiosk.store.errors import StoreError

log = logging.getLogger(__name__)

#: the server's default limit on a photo (and an original), in bytes
MAX_PHOTO_BYTES: int = ServerSection.max_photo_bytes
#: the server's own model of a record's measurements (their number, names and values)
_MEASUREMENTS_FIELD = RecordMetadata.model_fields["measurements"]
_MEASUREMENTS: TypeAdapter[Any] = TypeAdapter(
    Annotated[_MEASUREMENTS_FIELD.annotation, *_MEASUREMENTS_FIELD.metadata])  # type: ignore[arg-type]


class RecordRefused(StoreError):
    """The record would be refused by the server: nothing was stored."""

    default_key = "store.refused.field"


def check_jpeg(data: bytes, part: str, max_bytes: int = MAX_PHOTO_BYTES) -> None:
    """Refuse ``data`` unless the server will take it as a picture: a whole JPEG of at most ``max_bytes``.

    The server's own check (``kiosk.server.upload_checks.check_jpeg``) decides,
    so the two never disagree: the magic bytes alone prove nothing (an HTML page
    after ``FF D8 FF``, a file cut short by a full disk, bytes after the end
    marker), and the image is decoded to its last pixel.
    """
    try:
        server_check_jpeg(data, part, max_bytes)
    except Refused as refused:
        if refused.kind == "too-large":
            raise RecordRefused("store.refused.too_large", f"{part} bytes={len(data)}", part=part,
                                size_kb=len(data) // 1000, max_kb=max_bytes // 1000) from None
        raise RecordRefused("store.refused.not_jpeg", f"{part}: {refused.kind}", part=part) from None


def check_metadata(metadata: dict[str, Any]) -> RecordMetadata:
    """``metadata`` validated as the server will validate the upload; ``RecordRefused`` naming the field."""
    try:
        return RecordMetadata.model_validate(metadata)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or "record"
        limit = (first.get("ctx") or {}).get("max_length")
        log.warning("record.refused field=%s type=%s", field, first["type"])
        if first["type"] == "string_too_long" and limit is not None:
            raise RecordRefused("store.refused.too_long", f"{field}: {first['type']}", field=field,
                                limit=limit) from None
        raise RecordRefused("store.refused.field", f"{field}: {first['type']}", field=field,
                            reason=first["msg"]) from None


def check_record(metadata: dict[str, Any], photo: bytes, original: bytes | None) -> None:
    """Everything the server checks of an upload, on the station: files first, then the metadata."""
    check_jpeg(photo, "photo")
    if original is not None:
        check_jpeg(original, "original")
    check_metadata(metadata)


def admissible_measurements(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """``values`` when the server will take them as a record's measurements, else None (logged).

    A photo's measurements only inform its reviewer: measurements the server
    would refuse (too many, too long, not a finite number) are dropped, never
    the capture they came with.
    """
    if not values:
        return None
    try:
        _MEASUREMENTS.validate_python(values)
    except ValidationError:
        usable = False
    else:  # a NaN or an infinity would not survive the upload's JSON
        usable = all(math.isfinite(v) for v in values.values() if isinstance(v, float))
    if not usable:
        log.warning("record.measurements_dropped count=%d", len(values))
        return None
    return values
