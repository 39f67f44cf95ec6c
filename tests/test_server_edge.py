"""The server's edge: tokens before bodies, bodies capped while they stream, rate limits, headers.

The body tests drive the ASGI application directly with a ``receive`` that
produces chunks on demand (no Content-Length, as a chunked upload) and counts
every byte the server pulls from the "client".
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_server_helpers import assert_problem, server_config

from kiosk.errors import KioskError
from kiosk.server.app import create_app
from kiosk.server.limits import EdgeGuard, Route
from kiosk.server.ratelimit import RateLimiter, RepeatGate

ADMIN = "admin-token-for-the-tests"
MB = 1_000_000
CHUNK = 64 * 1024
BOUNDARY = "edgeboundary"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    pulled: int  # body bytes the server took from the client

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Upload:
    """An endless body: a first part, then filler, ``total`` bytes in all, in chunks; counts what is pulled."""

    head: bytes
    total: int
    pulled: int = 0
    stall_after: int | None = None  # stop sending (but stay connected) after this many bytes
    chunks: list[int] = field(default_factory=list)

    async def receive(self) -> dict[str, Any]:
        if self.stall_after is not None and self.pulled >= self.stall_after:
            await asyncio.sleep(3600)
        if self.pulled >= self.total:
            return {"type": "http.request", "body": b"", "more_body": False}
        chunk = self.head[self.pulled:self.pulled + CHUNK] if self.pulled < len(self.head) else b""
        chunk = chunk or b"\xff" * min(CHUNK, self.total - self.pulled)
        self.pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": self.pulled < self.total}


def call(app: Any, method: str, path: str, upload: Upload, headers: dict[str, str]) -> Answer:
    """Run one request through the ASGI ``app``: its answer and how much of the body it pulled."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in {**headers, "transfer-encoding": "chunked",
                                                                       "host": "testserver"}.items()],
             "client": ("192.0.2.7", 50000), "server": ("testserver", 80), "state": {}}
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, upload.receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, body,
                  upload.pulled)


def multipart_head(meta: dict[str, Any]) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{json.dumps(meta)}\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff").encode("latin-1")


class RefusingCodes:
    """A code checker that refuses every payload (no key file needed)."""

    def parse(self, payload: str, batch: Any, now: datetime) -> Any:
        raise KioskError("code.not_a_code")

    def last_four_matches(self, code: Any, typed: str) -> bool:
        return False


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return create_app(server_config(tmp_path, max_photo_bytes=1 * MB, bind_rate_per_minute=3,
                                    bind_rate_per_minute_station=5),
                      admin_token=ADMIN, purge_every_s=None, codebook=RefusingCodes())


@pytest.fixture
def token(app: FastAPI) -> str:
    return str(app.state.server.tokens.issue("station-01", datetime.now(UTC)))


def record_upload(app: FastAPI, token: str | None, total: int) -> Answer:
    record_id = str(uuid.uuid4())
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}", "idempotency-key": record_id}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return call(app, "PUT", f"/api/v1/records/{record_id}", Upload(multipart_head({"record_id": record_id}), total),
                headers)


def test_a_chunked_upload_of_100_mb_is_refused_before_10_mb_is_read(app: FastAPI, token: str) -> None:
    answer = record_upload(app, token, 100 * MB)
    assert answer.status == 413
    assert answer.pulled < 10 * MB
    assert answer.pulled <= 2 * MB + 64_000 + CHUNK  # never more than the limit and one chunk
    assert answer.headers["connection"] == "close"
    assert answer.json()["type"] == "/problems/too-large"
    assert not list((app.state.server.config.server.data_dir / "photos").rglob("*.jpg"))


@pytest.mark.parametrize("auth", [None, "not-a-token", ADMIN[:-1]])
def test_an_upload_without_a_valid_token_is_refused_before_its_body_is_read(app: FastAPI, auth: str | None) -> None:
    answer = record_upload(app, auth, 100 * MB)
    assert answer.status == 401
    assert answer.pulled == 0
    assert answer.headers["www-authenticate"] == "Bearer"


def test_a_chunked_json_body_is_capped_at_a_few_kilobytes(app: FastAPI) -> None:
    limit = app.state.server.config.server.max_json_bytes
    answer = call(app, "POST", "/api/v1/bind", Upload(b'{"ticket": "', 600 * MB),
                  {"content-type": "application/json"})
    assert answer.status == 413
    assert answer.pulled <= limit + CHUNK
    # any route without a rule of its own is capped the same way
    other = call(app, "POST", "/api/v1/records/status", Upload(b'{"ids": [', 600 * MB),
                 {"content-type": "application/json", "authorization": f"Bearer {ADMIN}"})
    assert other.status == 413 and other.pulled <= 200_000
    unknown = call(app, "POST", "/nowhere", Upload(b"x", 600 * MB), {})
    assert unknown.status in (404, 413) and unknown.pulled <= limit + CHUNK


def test_a_chunked_bind_page_upload_is_refused_with_a_page_past_5_mb(app: FastAPI) -> None:
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"code_image\"; filename=\"c.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()
    answer = call(app, "POST", "/bind", Upload(head, 1500 * MB),
                  {"content-type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert answer.status == 413
    assert answer.pulled <= 5 * MB + 64_000 + CHUNK
    assert answer.headers["content-type"].startswith("text/html")
    assert "5 MB" in answer.body.decode()


def test_a_declared_length_over_the_limit_is_refused_before_reading(app: FastAPI, token: str) -> None:
    with TestClient(app) as client:
        answer = client.post("/api/v1/bind", content=b"{}" + b" " * 100_000,
                             headers={"content-type": "application/json"})
    assert_problem(answer, 413, "too-large")


def test_a_body_that_stops_coming_is_ended_with_408(tmp_path: Path) -> None:
    app = create_app(server_config(tmp_path, body_timeout_s=1), admin_token=ADMIN, purge_every_s=None)
    upload = Upload(b'{"ticket": "AB', 10_000, stall_after=10)
    answer = call(app, "POST", "/api/v1/bind", upload, {"content-type": "application/json"})
    assert answer.status == 408
    assert answer.json()["type"] == "/problems/timeout"


def test_a_station_token_on_an_admin_route_is_refused_before_the_body(app: FastAPI, token: str) -> None:
    answer = call(app, "POST", "/api/v1/batches", Upload(b"{", 10 * MB),
                  {"content-type": "application/json", "authorization": f"Bearer {token}"})
    assert (answer.status, answer.pulled) == (403, 0)


# --- rate limits --------------------------------------------------------------------------------------------


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def junk_bind(client: TestClient, headers: dict[str, str] | None = None) -> Any:
    return client.post("/api/v1/bind", json={"ticket": "ABCD-EFGH-J", "code_payload": "x", "id_last4": "1234"},
                       headers=headers)


def test_binds_are_rate_limited_per_client_address_with_retry_after(client: TestClient, token: str,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kiosk")
    answers = [junk_bind(client) for _ in range(6)]
    assert all(a.status_code != 429 for a in answers[:3])
    for refused in answers[3:]:
        doc = assert_problem(refused, 429, "rate-limited")
        assert int(refused.headers["retry-after"]) >= 1 and doc["retry_after_s"] >= 1
    # a refusal is logged once, its repetitions held back
    assert len([r for r in caplog.records if "edge.refused" in r.getMessage()]) == 1
    # the bind page shares the anonymous limit, and answers with a page
    page = client.post("/bind", files={"ticket": (None, "ABCD-EFGH-J"), "id_last4": (None, "1234"),
                                       "code_text": (None, "x")})
    assert page.status_code == 429 and page.headers["content-type"].startswith("text/html")
    assert "Too many attempts" in page.text and page.headers["retry-after"]


def test_station_binds_are_limited_too_with_a_higher_limit(client: TestClient, token: str) -> None:
    station = {"Authorization": f"Bearer {token}"}
    statuses = [junk_bind(client, station).status_code for _ in range(7)]
    assert 429 not in statuses[:5] and statuses[5:] == [429, 429]
    # made-up tokens count as anonymous attempts
    fake = [junk_bind(client, {"Authorization": "Bearer made-up"}).status_code for _ in range(4)]
    assert fake == [401, 401, 401, 429]


def test_the_rate_limiter_refills_and_forgets_the_least_recent_addresses() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0], max_keys=3)
    assert [limiter.take("a") for _ in range(3)][:2] == [0.0, 0.0]
    assert limiter.take("a") == pytest.approx(30.0)
    now[0] = 30.0
    assert limiter.take("a") == 0.0
    for key in "bcde":
        limiter.take(key)
    assert len(limiter) == 3
    gate = RepeatGate(60, clock=lambda: now[0])
    assert [gate.passes("k") for _ in range(4)] == [0, None, None, None]
    now[0] = 100.0
    assert gate.passes("k") == 3


@pytest.mark.parametrize("ticket", ["ABCD-EFGH-J", "valid"])
def test_a_refused_bind_writes_one_line(client: TestClient, caplog: pytest.LogCaptureFixture, ticket: str) -> None:
    tickets = pytest.importorskip("kiosk.tickets")
    caplog.set_level(logging.INFO, logger="kiosk")
    caplog.clear()
    body = {"ticket": tickets.new_ticket() if ticket == "valid" else ticket, "code_payload": "x", "id_last4": "1"}
    assert client.post("/api/v1/bind", json=body).status_code in (404, 422)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("kiosk.server")]
    assert len(lines) == 1, lines


# --- headers and docs ---------------------------------------------------------------------------------------


def test_every_answer_says_nosniff_and_pages_forbid_framing_and_foreign_scripts(client: TestClient) -> None:
    for path in ("/api/v1/health", "/nowhere", "/openapi.json", "/bind", "/static/bind.css"):
        answer = client.get(path)
        assert answer.headers["x-content-type-options"] == "nosniff", path
    page = client.get("/bind")
    assert page.headers["x-frame-options"] == "DENY"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "http" not in policy
    assert "<style" not in page.text and "/static/bind.css" in page.text
    css = client.get("/static/bind.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "x-frame-options" not in client.get("/api/v1/health").headers


def test_an_unexpected_error_answer_says_nosniff_too(app: FastAPI) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/boom")
    assert answer.status_code == 500 and answer.headers["x-content-type-options"] == "nosniff"


def test_api_docs_are_off_by_default_and_the_schema_stays(client: TestClient, tmp_path: Path) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").json()["info"]["title"]
    app = create_app(server_config(tmp_path / "docs", api_docs=True), admin_token=ADMIN, purge_every_s=None)
    with TestClient(app) as docs_client:
        docs = docs_client.get("/docs")
    assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.headers["content-security-policy"]


# --- the guard on its own -----------------------------------------------------------------------------------


async def _echo(scope: Any, receive: Any, send: Any) -> None:
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


def test_a_body_within_the_limit_reaches_the_application_whole() -> None:
    guard = EdgeGuard(_echo, routes=[Route("POST", "/up", 3 * MB)], default_max_body=1000, caller=lambda t: None)
    answer = call(guard, "POST", "/up", Upload(b"", 3 * MB), {})
    assert (answer.status, answer.body, answer.pulled) == (200, str(3 * MB).encode(), 3 * MB)
    assert call(guard, "POST", "/up", Upload(b"", 3 * MB + 1), {}).status == 413


async def _stream_later(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await asyncio.sleep(1.5)  # longer than the body's deadline: it must not apply once the body is in
    await send({"type": "http.response.body", "body": b"done"})


def test_the_body_deadline_ends_with_the_body() -> None:
    guard = EdgeGuard(_stream_later, routes=[], default_max_body=1000, caller=lambda t: None, body_timeout_s=1)
    answer = call(guard, "POST", "/x", Upload(b"", 10), {})
    assert (answer.status, answer.body) == (200, b"done")



def test_refusals_log_the_client_network_not_the_address() -> None:
    from kiosk.server.limits import client_network

    assert client_network("203.0.113.77") == "203.0.113.0/24"
    assert client_network("2001:db8:1:2::5") == "2001:db8:1::/48"
    assert client_network("testclient") == "-"
