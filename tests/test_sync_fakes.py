"""Loopback fakes of the collection server for the sync tests (no tests of its own).

``FakeServer`` answers the station API from a script: each upload takes the
next behaviour from ``script`` (then ``default``). "ok" commits the record
idempotently, as the real server does: a replay of the same id gets the same
acknowledgement, with 200 instead of 201.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import threading
import time
from collections import Counter
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from kiosk.config import SyncSection
from kiosk.store import NewRecord, Store
from kiosk.sync import SyncClient

TOKEN = "station-token-for-tests"


def jpeg_bytes(kb: int = 8, seed: int = 0) -> bytes:
    """A real JPEG of roughly ``kb`` KB (noise compresses badly, which is what we want)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    side = max(16, int((kb * 1024 / 1.2) ** 0.5))
    pixels = rng.integers(0, 255, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=85)
    return out.getvalue()


def write_token(folder: Path, mode: int = 0o600, token: str = TOKEN) -> Path:
    """A token file with ``mode``."""
    path = folder / "station.token"
    path.write_text(token + "\n")
    os.chmod(path, mode)
    return path


def parse_multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    """The parts of a multipart/form-data body by name."""
    msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    parts: dict[str, bytes] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        parts[str(name)] = part.get_payload(decode=True) or b""
    return parts


class FakeServer:
    """A scripted station API on 127.0.0.1 (port 0)."""

    def __init__(self, default: str = "ok", token: str = TOKEN, put_delay_s: float = 0.0) -> None:
        self.default = default
        self.script: list[str] = []
        self.token = token
        self.put_delay_s = put_delay_s
        self.records: dict[str, dict[str, Any]] = {}
        self.puts: list[str] = []
        self.posts: list[tuple[str, Any]] = []
        self.statuses: dict[str, dict[str, Any]] = {}
        self.bind_answer: tuple[int, dict[str, Any] | bytes] | None = None
        self.batches: dict[str, dict[str, Any]] = {}
        self.committed = threading.Event()
        self.release = threading.Event()
        self.stall_s = 2.0
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def put_counts(self) -> Counter[str]:
        """PUT requests per record id."""
        return Counter(self.puts)

    def next_behaviour(self) -> str:
        with self.lock:
            return self.script.pop(0) if self.script else self.default

    def commit(self, record_id: str, parts: dict[str, bytes]) -> tuple[int, dict[str, Any]]:
        """Idempotent commit: (201, ack) the first time, (200, same ack) on replay."""
        meta = json.loads(parts["metadata"])
        sha = hashlib.sha256(parts["photo"]).hexdigest()
        with self.lock:
            if record_id in self.records:
                return 200, self.records[record_id]
            ack = {"record_id": record_id, "photo_sha256": sha, "status": "queued",
                   "queue_position": len(self.records) + 1, "_meta": meta}
            self.records[record_id] = ack
            return 201, ack

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else each keep-alive answer waits 40 ms for a delayed ACK

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length", "0")))

            def _send(self, status: int, body: Any, ctype: str = "application/json",
                      headers: dict[str, str] | None = None) -> None:
                data = body if isinstance(body, bytes) else json.dumps(
                    {k: v for k, v in body.items() if not k.startswith("_")}).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _problem(self, status: int, headers: dict[str, str] | None = None) -> None:
                self._send(status, {"type": "about:blank", "title": f"status {status}", "status": status},
                           "application/problem+json", headers)

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self._problem(401)
                    return False
                return True

            def do_PUT(self) -> None:
                body = self._body()
                record_id = self.path.rsplit("/", 1)[-1]
                with fake.lock:
                    fake.puts.append(record_id)
                if not self._authorised():
                    return
                if fake.put_delay_s:
                    time.sleep(fake.put_delay_s)
                behaviour = fake.next_behaviour()
                if behaviour in ("ok", "commit_stall"):
                    assert self.headers.get("Idempotency-Key") == record_id
                    status, ack = fake.commit(record_id, parse_multipart(self.headers["Content-Type"], body))
                    if behaviour == "commit_stall":
                        fake.committed.set()
                        fake.release.wait(30)
                        self.close_connection = True
                        return
                    self._send(status, ack)
                elif behaviour == "drop":
                    self.close_connection = True  # body read, no answer at all
                elif behaviour == "stall":
                    time.sleep(fake.stall_s)
                    self.close_connection = True
                elif behaviour == "html":
                    self._send(200, b"<html><body>Please log in to the campus Wi-Fi</body></html>", "text/html")
                elif behaviour == "503":
                    self._problem(503, {"Retry-After": "120"})
                else:
                    self._problem(int(behaviour))

            def do_POST(self) -> None:
                body = json.loads(self._body() or b"{}")
                with fake.lock:
                    fake.posts.append((self.path, body))
                if not self._authorised():
                    return
                if self.path == "/api/v1/records/status":
                    out = [fake.statuses.get(i, {"record_id": i, "status": "unknown"}) for i in body["ids"]]
                    self._send(200, {"records": out})
                elif self.path == "/api/v1/bind":
                    if fake.bind_answer is not None:
                        status, data = fake.bind_answer
                        # refusals come as problem documents, as from the collection server; bytes are a proxy's page
                        self._send(status, data, "text/html" if isinstance(data, bytes) else
                                   "application/problem+json" if status >= 400 else "application/json")
                        return
                    rid = next((k for k, v in fake.records.items() if v["_meta"].get("ticket") == body["ticket"]),
                               None)
                    if rid is None:
                        self._problem(404)
                    else:
                        self._send(200, {"record_id": rid, "status": "queued"})
                else:
                    self._problem(404)

            def do_GET(self) -> None:
                if not self._authorised():
                    return
                code = self.path.rsplit("/", 1)[-1]
                if self.path.startswith("/api/v1/batches/") and code in fake.batches:
                    self._send(200, fake.batches[code])
                else:
                    self._problem(404)

        return Handler


# -- records, store and client shared by the sync tests --------------------------------


def new(uid: str = "U1") -> NewRecord:
    return NewRecord(batch="1S95KT", station_id="st-1", code_payload=f"KC1.{uid}", student_uid=uid,
                     id_last4="1234")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "data")
    yield s
    s.close()


def client(store: Store, cfg: SyncSection, **kw: object) -> SyncClient:
    return SyncClient(cfg, store, "st-1", rng=random.Random(1), **kw)  # type: ignore[arg-type]
