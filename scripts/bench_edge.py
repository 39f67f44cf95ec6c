#!/usr/bin/env python3
"""Benchmark the server's edge against hostile uploads; prints figures, asserts nothing.

Starts ``kiosk server`` (the real process, uvicorn) on a loopback port and sends,
from raw sockets, endless chunked bodies (no Content-Length) that no client
should send:

* an upload of a record without a token (800 MB offered),
* an upload of a record with a station token (800 MB offered),
* a JSON bind body (600 MB offered),
* a /bind form (1.5 GB offered),

and for each prints the answer, the bytes the client got into the socket before
the refusal, the time to it, and the server's resident memory after it. Then it
opens N half-sent requests and prints how long a health check takes to answer.

Usage: .venv/bin/python scripts/bench_edge.py [--half-sent 500] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

CHUNK = 64 * 1024
MB = 1_000_000


def rss_mb(pid: int) -> float:
    """The resident memory of ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1000
    return float("nan")


def start(tmp: Path) -> tuple[subprocess.Popen[bytes], int, str]:
    """The server process, its port and a station token."""
    config = tmp / "server.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp / "data"}"\nadmin_token_file = "{tmp / "admin.token"}"\n')
    kiosk = [sys.executable, "-m", "kiosk", "server", "--config", str(config)]
    subprocess.run([*kiosk, "admin-token", "--create"], check=True, capture_output=True)
    token = subprocess.run([*kiosk, "token", "issue", "--station", "bench"], check=True, capture_output=True,
                           text=True).stdout.strip()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    process = subprocess.Popen([*kiosk, "--port", str(port)], stdout=subprocess.DEVNULL,
                               stderr=open(tmp / "server.log", "wb"))  # noqa: SIM115 - the process keeps it
    for _ in range(600):
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).ok:
                return process, port, token
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start")


def chunked(port: int, method: str, path: str, headers: dict[str, str], head: bytes,
            total: int) -> tuple[str, int, float]:
    """Offer ``total`` bytes chunked; the answer's status line, the bytes sent and the seconds to the answer."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHUNK)
    fields = "".join(f"{k}: {v}\r\n" for k, v in {"Host": "127.0.0.1", "Transfer-Encoding": "chunked",
                                                    **headers}.items())
    started = time.monotonic()
    sock.sendall(f"{method} {path} HTTP/1.1\r\n{fields}\r\n".encode() + b"%x\r\n" % len(head) + head + b"\r\n")
    sent, answer = len(head), b""
    framed = b"%x\r\n" % CHUNK + b"\xff" * CHUNK + b"\r\n"
    sock.settimeout(10)
    try:
        while sent < total and not select.select([sock], [], [], 0)[0]:
            sock.sendall(framed)
            sent += CHUNK
        answer = sock.recv(4096)
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        pass
    finally:
        sock.close()
    line = answer.split(b"\r\n", 1)[0].decode("latin-1") or "(connection closed by the server)"
    return line, sent, time.monotonic() - started


def main() -> int:
    """Run the attacks and print what the server did."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--half-sent", type=int, default=500)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    tmp = args.dir or Path(tempfile.mkdtemp(prefix="bench-edge-"))
    process, port, token = start(tmp)
    try:
        print(f"server rss at start: {rss_mb(process.pid):.0f} MB")
        record = str(uuid.uuid4())
        part = (b'--x\r\nContent-Disposition: form-data; name="photo"; filename="p.jpg"\r\n'
                b"Content-Type: image/jpeg\r\n\r\n")
        form = {"Content-Type": "multipart/form-data; boundary=x", "Idempotency-Key": record}
        attacks = [
            ("PUT record, no token, 800 MB", "PUT", f"/api/v1/records/{record}", form, part, 800 * MB),
            ("PUT record, station token, 800 MB", "PUT", f"/api/v1/records/{record}",
             {**form, "Authorization": f"Bearer {token}"}, part, 800 * MB),
            ("POST /api/v1/bind JSON, 600 MB", "POST", "/api/v1/bind", {"Content-Type": "application/json"},
             b'{"ticket": "', 600 * MB),
            ("POST /bind form, 1.5 GB", "POST", "/bind", {"Content-Type": "multipart/form-data; boundary=x"},
             part.replace(b"photo", b"code_image"), 1500 * MB),
        ]
        for name, method, path, headers, head, total in attacks:
            line, sent, seconds = chunked(port, method, path, headers, head, total)
            print(f"{name}: {line}; {sent / MB:.2f} MB sent, {seconds * 1000:.0f} ms, "
                  f"server rss {rss_mb(process.pid):.0f} MB")
        held = []
        for n in range(args.half_sent):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: " if n % 2 else
                         b"POST /api/v1/bind HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            held.append(sock)
        started = time.monotonic()
        status = requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=120).status_code
        print(f"health with {args.half_sent} half-sent requests open: {status} in "
              f"{(time.monotonic() - started) * 1000:.0f} ms")
        for sock in held:
            sock.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
