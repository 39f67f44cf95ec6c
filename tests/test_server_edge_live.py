"""The server's edge with the real server process (``kiosk server``, uvicorn) on loopback.

Raw sockets send what no well-behaved client would: endless chunked uploads,
and requests that stop half-way through their headers.
"""

from __future__ import annotations

import os
import resource
import select
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

MB = 1_000_000
CHUNK = 64 * 1024
TIMEOUTS = "header_timeout_s = 1\nbody_timeout_s = 1"


@dataclass
class Server:
    port: int
    token: str
    log: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(tmp: Path, extra: str = "", *, max_files: int | None = None) -> Iterator[Server]:
    config = tmp / "server.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp / "data"}"\nadmin_token_file = "{tmp / "admin.token"}"\n'
                      f"max_photo_bytes = 200000\n{extra}\n[logging]\nlevel = \"INFO\"\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    kiosk = [sys.executable, "-m", "kiosk", "server", "--config", str(config)]
    subprocess.run([*kiosk, "admin-token", "--create"], check=True, env=env, capture_output=True)
    issued = subprocess.run([*kiosk, "token", "issue", "--station", "st-1"], check=True, env=env,
                            capture_output=True, text=True)
    port = _free_port()
    log = tmp / "server.log"

    with open(log, "wb") as out:
        process = subprocess.Popen([*kiosk, "--port", str(port)], env=env, stdout=out, stderr=out)
    if max_files is not None:
        resource.prlimit(process.pid, resource.RLIMIT_NOFILE, (max_files, max_files))
    try:
        # a generous wait: the process imports the whole server, and a shared machine may be busy
        deadline = time.monotonic() + 180
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).ok:
                    break
            except requests.RequestException:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the server did not start: " + log.read_text())
                time.sleep(0.1)
        yield Server(port, issued.stdout.strip(), log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # few file descriptors (as under a default limit) and short deadlines, for the half-sent requests
    yield from _start(tmp_path_factory.mktemp("live"), TIMEOUTS, max_files=200)


def _chunked_upload(server: Server, path: str, headers: dict[str, str], total: int,
                    head: bytes = b"") -> tuple[int | None, int]:
    """Send an endless chunked body until the server answers; its status (None: cut off) and the bytes sent."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHUNK)
    fields = "".join(f"{k}: {v}\r\n" for k, v in {"Host": "127.0.0.1", "Transfer-Encoding": "chunked",
                                                    **headers}.items())
    method = "PUT" if "records" in path else "POST"
    sock.sendall(f"{method} {path} HTTP/1.1\r\n{fields}\r\n".encode())
    chunk = b"\xff" * CHUNK
    framed = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    sent = 0
    answer = b""
    sock.settimeout(10)
    try:
        if head:
            sock.sendall(b"%x\r\n" % len(head) + head + b"\r\n")
            sent += len(head)
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            sock.sendall(framed)  # TimeoutError once the server stops reading
            sent += len(chunk)
        while b"\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        pass
    finally:
        sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None
    return status, sent


def test_a_chunked_upload_of_100_mb_to_the_real_server_is_refused_before_10_mb(server: Server) -> None:
    record_id = str(uuid.uuid4())
    headers = {"Authorization": f"Bearer {server.token}", "Idempotency-Key": record_id,
               "Content-Type": "multipart/form-data; boundary=x"}
    head = (b'--x\r\nContent-Disposition: form-data; name="photo"; filename="p.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n")
    status, sent = _chunked_upload(server, f"/api/v1/records/{record_id}", headers, 100 * MB, head)
    assert sent < 10 * MB
    assert status in (413, None)  # None: the refusal closed the connection before the answer was read
    assert "edge.refused status=413" in server.log.read_text()


def test_an_anonymous_chunked_upload_to_the_real_server_is_refused_having_read_almost_nothing(
        server: Server) -> None:
    record_id = str(uuid.uuid4())
    status, sent = _chunked_upload(server, f"/api/v1/records/{record_id}",
                                   {"Idempotency-Key": record_id, "Content-Type": "multipart/form-data; boundary=x"},
                                   100 * MB)
    assert status in (401, None) and sent < 10 * MB
    assert "edge.refused status=401" in server.log.read_text()
    status, sent = _chunked_upload(server, "/api/v1/bind", {"Content-Type": "application/json"}, 600 * MB,
                                   b'{"ticket": "')
    assert status in (413, None) and sent < 10 * MB


def test_half_sent_requests_do_not_stop_health_checks(server: Server) -> None:
    # the server has 200 file descriptors: without deadlines on headers and bodies the half-sent requests
    # would hold them all, and the health check would never be accepted
    held: list[socket.socket] = []
    try:
        for n in range(260):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            if n % 2:
                sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            else:  # headers whole, body never
                sock.sendall(b"POST /api/v1/bind HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{")
            held.append(sock)
        # no speed is asserted: the wait is generous for a busy machine, and unbounded without the deadlines
        answer = requests.get(f"http://127.0.0.1:{server.port}/api/v1/health", timeout=180)
        assert answer.status_code == 200
        # the server ended the half-sent requests it had accepted: closed, or answered 408 and closed
        for sock in held[:2]:
            sock.settimeout(30)
            try:
                reply = sock.recv(4096)
            except ConnectionResetError:
                reply = b""
            assert reply in (b"",) or reply.startswith(b"HTTP/1.1 408"), reply
    finally:
        for sock in held:
            sock.close()
    log = server.log.read_text()
    assert "connection.closed why=header_timeout" in log and "edge.refused status=408" in log


def test_endless_headers_are_answered_431_and_the_connection_closed(server: Server) -> None:
    # llhttp (the C parser) has no header size limit of its own: the server's protocol sets 16 KB
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    answer = b""
    try:
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for n in range(400):  # up to 400 x 100 bytes of headers, far past the bound, never ending
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered
            try:
                sock.sendall(f"X-Filler-{n}: {'x' * 84}\r\n".encode())
            except (BrokenPipeError, ConnectionResetError):
                break
        while True:
            try:
                data = sock.recv(4096)
            except ConnectionResetError:
                break
            if not data:
                break
            answer += data
    finally:
        sock.close()
    # the answer, unless the close's reset (headers still unread) overtook it on the wire
    assert answer.startswith(b"HTTP/1.1 431") or answer == b"", answer[:80]
    assert "connection.closed why=header_too_large" in server.log.read_text()
    # a request with ordinary headers is served as before
    assert requests.get(f"http://127.0.0.1:{server.port}/api/v1/health", timeout=30).status_code == 200
