"""Builders for the console tests: a server with accounts, a batch and uploaded records."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from fastapi.testclient import TestClient
from test_server_helpers import BATCH, IN_BATCH, jpeg, metadata, put_headers, server_config, upload_parts

from kiosk.server.app import create_app
from kiosk.server.embedded import EmbeddedServer

PASSWORD = "a long enough password"
STUDENTS = [
    {"student_uid": "u-0001", "school_name": "示例大学", "masked_name": "张*三", "student_number": "2022010001",
     "level": "本科"},
    {"student_uid": "u-0002", "school_name": "示例大学", "masked_name": "李*", "student_number": "2022010002",
     "level": "硕士研究生"},
    {"student_uid": "u-0003", "school_name": "示例大学", "masked_name": "欧阳**", "student_number": "2022010003",
     "level": "博士研究生"},
]
#: what a station sends (kiosk.portrait.measurements), a few of its keys
MEASUREMENTS = {"head_top_px": 62, "eye_line_px": 262, "face_width_px": 221, "tilt_deg": 0.8,
                "sharpness": 65, "background_rgb": "#64C5FF", "background_delta_ab": 3.2, "eyes_found": True,
                "checks_failed": ""}


@dataclass
class Clock:
    """A clock the test moves by hand."""

    #: inside the test batch's dates: the server refuses captures outside them
    now: datetime = field(default_factory=lambda: IN_BATCH + timedelta(hours=2))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def console_server(tmp: Path, clock: Clock, **settings: Any) -> EmbeddedServer:
    """An embedded server with a batch, a reviewer "ann", a second reviewer "bob" and a coordinator "cai"."""
    server = EmbeddedServer(server_config(tmp, **settings), clock=clock)
    server.add_batch(BATCH)
    for name, role in (("ann", "reviewer"), ("bob", "reviewer"), ("cai", "coordinator")):
        server.state.accounts.add(name, role, PASSWORD, clock())
    return server


def upload(base: str, token: str, seed: int, student: dict[str, Any] | None, *, measurements: bool = True,
           captured_at: datetime | None = None) -> str:
    """Upload one record of ``student`` (None: codeless) over HTTP; its id."""
    photo = jpeg(seed, size=(480, 640))
    captured_at = captured_at or IN_BATCH
    extra: dict[str, Any] = {"measurements": MEASUREMENTS} if measurements else {}
    if student is None:
        meta = metadata(photo, codeless=True, ticket=f"TICKET{seed:04d}", captured_at=captured_at, **extra)
    else:
        code = {**student, "format": "reference", "school_code": "10001", "masked_id": "**************123X",
                "issued_at": "2026-05-01T00:00:00+00:00"}
        meta = metadata(photo, captured_at=captured_at, code=code, **extra)
    answer = requests.put(f"{base}/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                          headers=put_headers(token, meta["record_id"]), timeout=10)
    assert answer.status_code == 201, answer.text
    return str(meta["record_id"])


def status_of(base: str, token: str, record_id: str) -> str:
    """A record's status as the station API reports it."""
    answer = requests.post(f"{base}/api/v1/records/status", json={"ids": [record_id]},
                           headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return str(answer.json()["records"][0]["status"])


def problem(answer: Any) -> dict[str, Any]:
    """The problem+json body of a refused call."""
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.headers
    return dict(json.loads(answer.text))


@contextlib.contextmanager
def review_client(tmp: Path, admin_token: str) -> Iterator[TestClient]:
    """An in-process server with the batch, a reviewer ``ann`` and a station token (``state.station_token``)."""
    clock = Clock()
    app = create_app(server_config(tmp), admin_token=admin_token, clock=clock, purge_every_s=None)
    state = app.state.server
    state.batches.put(BATCH, clock())
    state.accounts.add("ann", "reviewer", PASSWORD, clock())
    state.station_token = state.tokens.issue("station-01", clock())
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def sign_in(client: TestClient) -> None:
    """Sign ``ann`` in to the console through its login form (the CSRF nonce from the login cookie)."""
    client.get("/console/login")
    nonce = client.cookies.get("kiosk_login")
    signed = client.post("/console/login", data={"name": "ann", "password": PASSWORD, "csrf_token": nonce},
                         follow_redirects=False)
    assert signed.status_code == 303, signed.text


def upload_through(client: TestClient, seed: int, **extra: Any) -> str:
    """Upload a record of student ``seed`` with the station token of ``review_client``; its id."""
    photo = jpeg(seed)
    code = {**STUDENTS[seed % 3], "student_uid": f"u-{seed}", "format": "reference"}
    meta = metadata(photo, code=code, captured_at=IN_BATCH, **extra)
    token = client.app.state.server.station_token  # type: ignore[attr-defined]
    answer = client.put(f"/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                        headers=put_headers(token, meta["record_id"]))
    assert answer.status_code == 201, answer.text
    return str(meta["record_id"])
