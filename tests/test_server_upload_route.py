"""The upload's own path (kiosk/server/upload_route.py): it answers uploads, exactly as the FastAPI route would."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_server_helpers import jpeg, metadata, put_headers, server_config, upload_parts

from kiosk.server import station_api
from kiosk.server.app import create_app
from kiosk.server.upload_route import UploadPath

ADMIN = "admin-token-for-the-tests"


def _app(tmp: Path, database: str | None = None) -> FastAPI:
    extra: dict[str, Any] = {"database": database} if database else {}
    return create_app(server_config(tmp, max_photo_bytes=20_000, **extra), admin_token=ADMIN, purge_every_s=None)


@pytest.fixture
def client(tmp_path: Path, server_database_url: str) -> Iterator[TestClient]:
    with TestClient(_app(tmp_path, server_database_url)) as c:
        yield c


def _token(client: TestClient) -> str:
    app: Any = client.app
    return str(app.state.server.tokens.issue("station-01", datetime.now(UTC)))


def test_uploads_are_answered_before_the_fastapi_route(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def route_ran(*args: object) -> None:
        raise AssertionError("the FastAPI route answered an upload the upload path takes")

    monkeypatch.setattr(station_api, "run_in_threadpool", route_ran)
    token = _token(client)
    photo = jpeg(1)
    meta = metadata(photo)
    answer = client.put(f"/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                        headers=put_headers(token, meta["record_id"]))
    assert answer.status_code == 201
    assert answer.json()["record_id"] == meta["record_id"]
    assert answer.headers["x-content-type-options"] == "nosniff"


def _cases(token: str, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """(path, keyword arguments of ``TestClient.put``) of uploads good and bad, in order."""
    def upload(seed: int, path_id: str | None = None, key: str | None = None, token_: str | None = token,
               photo: bytes | None = None, **meta_changes: Any) -> tuple[str, dict[str, Any]]:
        data = photo if photo is not None else jpeg(seed)
        meta = metadata(jpeg(seed), record_id=str(uuid.UUID(int=seed)), captured_at=now, **meta_changes)
        headers = {"Idempotency-Key": key if key is not None else meta["record_id"]}
        if token_ is not None:
            headers["Authorization"] = f"Bearer {token_}"
        return f"/api/v1/records/{path_id or meta['record_id']}", {"files": upload_parts(meta, data),
                                                                    "headers": headers}

    first = upload(1)
    multipart = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.UUID(int=9)),
                 "Content-Type": "multipart/form-data; boundary=xyz"}
    return [
        first, first,  # 201, then the identical replay's 200
        upload(1, photo=jpeg(2)),  # same id, other photo: 422 record-conflict
        upload(3, path_id=str(uuid.UUID(int=3)).upper()),  # an upper-case id in the path
        upload(4, path_id=uuid.UUID(int=4).hex),  # an id without hyphens
        upload(5, key="not-the-id"),  # 400 idempotency-key
        upload(6, path_id=str(uuid.UUID(int=66)), key=str(uuid.UUID(int=66))),  # metadata names another id: 422
        upload(7, batch="NO-SUCH-BATCH"),
        upload(8, photo_bytes=-1),  # invalid metadata
        upload(10, photo=b"not a jpeg at all"),
        upload(11, token_=None),  # 401 at the edge
        upload(12, token_="not-a-token"),
        upload(13, photo=b"x" * 200_000),  # 413 at the edge
        upload(14, path_id="0000000-0000-0000-0000-0000000000014"),  # not a UUID: the route's 422
        (f"/api/v1/records/{uuid.UUID(int=9)}", {"content": b"--xyz\r\nbroken", "headers": multipart}),
        (f"/api/v1/records/{uuid.UUID(int=9)}", {"content": b"--xyz--\r\n", "headers": multipart}),  # no parts
        (f"/api/v1/records/{uuid.UUID(int=9)}", {"content": json.dumps({"a": 1}).encode(),
                                                  "headers": {**multipart, "Content-Type": "application/json"}}),
    ]


def _answers(tmp: Path) -> list[tuple[int, list[tuple[str, str]], bytes]]:
    now = datetime.now(UTC)
    with TestClient(_app(tmp)) as client:
        token = str(client.app.state.server.tokens.issue("station-01", now))  # type: ignore[attr-defined]
        answers = []
        for path, kwargs in _cases(token, now):
            answer = client.put(path, **kwargs)
            answers.append((answer.status_code, sorted(answer.headers.items()), answer.content))
        return answers


def test_the_upload_path_answers_exactly_as_the_fastapi_route(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _answers(tmp_path / "fast")

    async def hand_on(self: UploadPath, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    monkeypatch.setattr(UploadPath, "__call__", hand_on)
    routed = _answers(tmp_path / "routed")
    assert [status for status, _, _ in fast][:3] == [201, 200, 422]
    assert len({status for status, _, _ in fast}) >= 5  # the cases reach several kinds of answer
    for number, (got, expected) in enumerate(zip(fast, routed, strict=True)):
        assert got == expected, f"case {number}"
