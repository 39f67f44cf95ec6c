"""The collection server as real processes (``python -m kiosk server``), for tests across process boundaries.

``ServerSite`` writes a ``server.toml`` (data folder, admin token, batches file,
code keys, database URL), issues a station token with the ``kiosk server``
command, and starts one or more server processes on free loopback ports.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from test_server_helpers import BATCH

from kiosk.batch import Batch
from kiosk.cli import main


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerSite:
    """A server's files in ``root``, on ``database``; processes started with ``start``."""

    root: Path
    database: str
    settings: dict[str, Any] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    #: how long a server may take to start (the machine may be busy with other tests)
    start_timeout_s: float = 300.0
    #: the batch in the batches file every server process loads as it starts
    batch: Batch = BATCH

    def __post_init__(self) -> None:
        codes = __import__("kiosk.codes", fromlist=["KeyRing"])
        self.key_file = self.root / "code-keys.json"
        self.ring = codes.KeyRing.generate(self.key_file)
        batches = self.root / "batches.toml"
        lines = ["[[batch]]"] + [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in self.batch.to_json().items()
                                 if v is not None and not isinstance(v, dict)]
        batches.write_text("\n".join(lines) + "\n", "utf-8")
        extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in self.settings.items())
        self.config = self.root / "server.toml"
        self.config.write_text(
            f'[server]\ndata_dir = "{self.root / "data"}"\nadmin_token_file = "{self.root / "admin.token"}"\n'
            f'database = "{self.database}"\nbatches_file = "{batches}"\n{extra}'
            f'[codes]\nkey_file = "{self.key_file}"\n[logging]\nlevel = "WARNING"\n', "utf-8")
        assert main(["server", "--config", str(self.config), "admin-token", "--create"]) == 0
        self.admin_token = (self.root / "admin.token").read_text("utf-8").strip()
        token_file = self.root / "station.token"
        assert main(["server", "--config", str(self.config), "token", "issue", "--station", "station-01",
                     "--out", str(token_file)]) == 0
        self.station_token = token_file.read_text("utf-8").strip()

    def start(self, *extra_args: str) -> str:
        """Start one more server process; its base URL once it answers."""
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        log = self.root / f"server-{port}.log"  # a file, not a pipe: a full pipe would stall the server
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "kiosk", "server", "--config", str(self.config),
                                     "--port", str(port), *extra_args], env=env,
                                    stdout=subprocess.DEVNULL, stderr=out)
        self.processes.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited: {log.read_text('utf-8', 'replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2) as answer:
                    if answer.status == 200:
                        return url
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not answer in time")

    def stop(self) -> None:
        """Stop every process started (SIGTERM, then SIGKILL after a grace period)."""
        for proc in self.processes:
            proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        self.processes.clear()
