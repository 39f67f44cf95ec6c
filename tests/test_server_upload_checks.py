"""Uploaded records: pictures must decode as whole JPEGs, capture times lie within the batch's dates,
and no file of a refused upload stays on the server."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_server_helpers import BATCH, assert_problem, jpeg, metadata, put_headers, server_config, upload_parts

from kiosk.server.app import create_app
from kiosk.server.refusals import Refused
from kiosk.server.upload_checks import check_capture_time, check_jpeg

ADMIN = "admin-token-for-the-tests"
NOW = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)  # the batch runs 2026-06-01 to 2026-06-03


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    app = create_app(server_config(tmp_path, max_photo_bytes=200_000, capture_skew_hours=12),
                     admin_token=ADMIN, purge_every_s=None, clock=Clock(NOW))
    app.state.server.batches.put(BATCH, NOW)
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def token(app: FastAPI) -> str:
    return str(app.state.server.tokens.issue("station-01", NOW))


def put(client: TestClient, token: str, meta: dict[str, Any], photo: bytes, original: bytes | None = None) -> Any:
    return client.put(f"/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo, original),
                      headers=put_headers(token, meta["record_id"]))


def stored_files(app: FastAPI) -> list[Path]:
    return sorted(app.state.server.photos.root.rglob("*.jpg"))


HTML = b"\xff\xd8\xff<html><script>alert(document.cookie)</script></html>"
GOOD = jpeg(1)
BAD_PICTURES = {
    "html behind jpeg magic": HTML,
    "truncated": GOOD[: len(GOOD) // 2],
    "html appended": GOOD + b"<html><script>alert(1)</script></html>",
    "end marker only": b"\xff\xd8\xff\xe0" + bytes(100) + b"\xff\xd9",
}


@pytest.mark.parametrize("name", BAD_PICTURES)
def test_a_photo_that_does_not_decode_is_refused_and_not_stored(client: TestClient, token: str, app: FastAPI,
                                                                name: str) -> None:
    bad = BAD_PICTURES[name]
    doc = assert_problem(put(client, token, metadata(bad, captured_at=NOW), bad), 422, "not-a-photo")
    assert "photo" in doc["detail"]
    assert stored_files(app) == []
    original_refused = put(client, token, metadata(GOOD, captured_at=NOW), GOOD, bad)
    assert_problem(original_refused, 422, "not-a-photo")
    assert stored_files(app) == []


def test_a_picture_claiming_huge_dimensions_is_refused_before_decoding() -> None:
    header = bytearray(jpeg(2))
    sof = header.index(b"\xff\xc0")
    header[sof + 5:sof + 9] = (3000).to_bytes(2, "big") + (10000).to_bytes(2, "big")  # height, width: 30 MP
    with pytest.raises(Refused) as refused:
        check_jpeg(bytes(header), "original", 10_000_000)
    assert refused.value.kind == "not-a-photo" and "too many pixels" in refused.value.detail
    check_jpeg(GOOD, "photo", 10_000_000)


@pytest.mark.parametrize("captured", [
    datetime(2001, 6, 1, 9, 0, tzinfo=UTC),
    datetime(2026, 5, 30, 9, 0, tzinfo=UTC),
    datetime(2026, 6, 3, 9, 0, tzinfo=UTC),  # ahead of the server's clock by a day
])
def test_a_capture_time_outside_the_batch_is_refused(client: TestClient, token: str, app: FastAPI,
                                                     captured: datetime) -> None:
    photo = jpeg(3)
    doc = assert_problem(put(client, token, metadata(photo, captured_at=captured), photo), 422,
                         "captured-outside-batch")
    assert "captured_at" in doc["detail"]
    assert stored_files(app) == []


def test_capture_times_within_the_dates_and_the_skew_are_accepted() -> None:
    skew = timedelta(hours=12)
    now = datetime(2026, 6, 4, 12, 0, tzinfo=UTC)
    # the batch's days are China Standard Time: 2026-06-01 00:00+08:00 is 2026-05-31 16:00 UTC
    for captured in (datetime(2026, 5, 31, 4, 30, tzinfo=UTC), datetime(2026, 6, 3, 15, 59, tzinfo=UTC),
                     datetime(2026, 6, 4, 3, 59, tzinfo=UTC)):
        check_capture_time(captured, BATCH, now, skew)
    for captured in (datetime(2026, 5, 31, 3, 59, tzinfo=UTC), datetime(2026, 6, 4, 4, 0, tzinfo=UTC)):
        with pytest.raises(Refused):
            check_capture_time(captured, BATCH, now, skew)
    # an unknown batch bounds only the future
    check_capture_time(datetime(2001, 1, 1, tzinfo=UTC), None, now, skew)
    with pytest.raises(Refused):
        check_capture_time(now + timedelta(hours=13), None, now, skew)


def test_the_files_of_an_upload_refused_after_writing_are_removed(client: TestClient, token: str,
                                                                  app: FastAPI) -> None:
    photo = jpeg(4)
    meta = metadata(photo, captured_at=NOW)
    assert put(client, token, meta, photo).status_code == 201
    kept = stored_files(app)
    # the same record id with another photo: refused after the photo was written
    other = jpeg(5)
    changed = metadata(other, record_id=meta["record_id"], captured_at=NOW)
    assert_problem(put(client, token, changed, other, jpeg(6, (96, 128))), 422, "record-conflict")
    assert stored_files(app) == kept
    assert app.state.server.photos.exists(hashlib.sha256(photo).hexdigest())
