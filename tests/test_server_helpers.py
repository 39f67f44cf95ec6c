"""Builders shared by the server tests: configs, photos, record metadata, multipart uploads."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image

from kiosk.batch import Batch
from kiosk.config import ServerConfig, ServerSection

BATCH = Batch(feature_code="1S95KT", school_code="10001", school_name="示例大学",
              start_date="2026-06-01", end_date="2026-06-03")
#: a capture time inside BATCH's dates, for servers running on the real clock (which refuse captures outside them)
IN_BATCH = datetime(2026, 6, 2, 9, 30, tzinfo=UTC)


def server_config(tmp: Path, **server: Any) -> ServerConfig:
    """A server config rooted in ``tmp``."""
    return ServerConfig(server=ServerSection(data_dir=tmp / "data", admin_token_file=tmp / "admin.token", **server))


def jpeg(seed: int = 0, size: tuple[int, int] = (48, 64)) -> bytes:
    """A small real JPEG, different per ``seed``."""
    buf = io.BytesIO()
    Image.new("RGB", size, (100 + seed % 100, 197, 255 - seed % 50)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def metadata(photo: bytes, *, record_id: str | None = None, codeless: bool = False, ticket: str | None = None,
             captured_at: datetime | None = None, **extra: Any) -> dict[str, Any]:
    """Record metadata for ``photo``."""
    meta: dict[str, Any] = {
        "record_id": record_id or str(uuid.uuid4()),
        "batch": BATCH.feature_code,
        "station_id": "station-01",
        "captured_at": (captured_at or datetime.now(UTC)).isoformat(),
        "monotonic_ns": 123456789,
        "boot_id": "boot-1",
        "codeless": codeless,
        "ticket": ticket,
        "code_payload": None if codeless else "KC1.test-payload",
        "code": None,
        "id_last4": None if codeless else "123X",
        "phone": None,
        "name": None,
        "photo_sha256": hashlib.sha256(photo).hexdigest(),
        "photo_bytes": len(photo),
        "original_sha256": None,
    }
    meta.update(extra)
    return meta


def upload_parts(meta: dict[str, Any], photo: bytes, original: bytes | None = None) -> dict[str, Any]:
    """The multipart ``files`` argument for a record upload."""
    parts: dict[str, Any] = {"metadata": (None, json.dumps(meta), "application/json"),
                             "photo": ("photo.jpg", photo, "image/jpeg")}
    if original is not None:
        parts["original"] = ("original.jpg", original, "image/jpeg")
    return parts


def put_headers(token: str, record_id: str) -> dict[str, str]:
    """Headers of a station's record upload."""
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": record_id}


def assert_problem(answer: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    doc = answer.json()
    assert {"type", "title", "status", "detail"} <= set(doc)
    assert doc["status"] == status
    assert " / " in doc["title"]  # Chinese / English
    if slug:
        assert doc["type"] == f"/problems/{slug}"
    return dict(doc)
