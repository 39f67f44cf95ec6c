"""Seeded, bounded fuzzing of the record upload: damaged metadata and files get 4xx problems, never a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_server_helpers import jpeg, metadata, put_headers, server_config

from kiosk.server.app import create_app

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False) | st.text(max_size=40)
    | st.sampled_from(["", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "2026-06-01T08:00:00",
                       "2026-06-01T08:00:00Z", "1S95KT", "a" * 64, "\x00", "ＡＢＣＤ-ＥＦＧＨ-Ｊ"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
FIELDS = ["record_id", "batch", "station_id", "captured_at", "monotonic_ns", "boot_id", "codeless", "ticket",
          "code_payload", "code", "id_last4", "phone", "name", "photo_sha256", "photo_bytes", "original_sha256"]
PHOTO = jpeg(1)
PHOTOS = st.sampled_from([PHOTO, PHOTO[:10], b"", b"\xff\xd8\xff", b"GIF89a", PHOTO + b"trailing"])


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    app = create_app(server_config(tmp), admin_token="fuzz-admin-token-0123", purge_every_s=None)
    token = app.state.server.tokens.issue("station-01", datetime.now(UTC))
    with TestClient(app) as c:
        yield c, token


@settings(max_examples=60, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=3),
       dropped=st.sets(st.sampled_from(FIELDS), max_size=2), photo=PHOTOS,
       original=st.none() | PHOTOS, as_text=st.booleans())
def test_damaged_uploads_are_refused_with_problems(client: tuple[TestClient, str], changes: dict[str, Any],
                                                   dropped: set[str], photo: bytes, original: bytes | None,
                                                   as_text: bool) -> None:
    http, token = client
    meta = {k: v for k, v in {**metadata(PHOTO), **changes}.items() if k not in dropped}
    record_id = str(meta.get("record_id") or "00000000-0000-4000-8000-000000000000")
    body = json.dumps(meta) if as_text else json.dumps(meta)[: len(json.dumps(meta)) // 2]
    files: dict[str, Any] = {"metadata": (None, body, "application/json"), "photo": ("p.jpg", photo, "image/jpeg")}
    if original is not None:
        files["original"] = ("o.jpg", original, "image/jpeg")
    answer = http.put(f"/api/v1/records/{record_id}", files=files, headers=put_headers(token, record_id))
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert {"type", "title", "status", "detail"} <= set(answer.json())
