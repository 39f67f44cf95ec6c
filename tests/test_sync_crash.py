"""kill -9 of the sync process after the server committed a record but before the station did."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from test_sync_fakes import FakeServer, jpeg_bytes, write_token

from kiosk.store import NewRecord, Store

ROOT = Path(__file__).resolve().parents[1]


def station_config(tmp_path: Path, url: str) -> Path:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(
        f'[station]\nid = "st-1"\ndata_dir = "{tmp_path / "data"}"\n'
        f'[sync]\nserver_url = "{url}"\ntoken_file = "{write_token(tmp_path)}"\n'
        "lease_s = 1.0\nread_timeout_s = 30.0\nconnect_timeout_s = 2.0\npoll_s = 0.2\n"
        '[logging]\nlevel = "WARNING"\n')
    return cfg


def sync_once(cfg: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "kiosk", "sync", "--once", "--config", str(cfg)],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_kill_after_server_commit_ends_in_one_record_sent_once(tmp_path: Path) -> None:
    with Store.open(tmp_path / "data") as s:
        rec = s.add_record(NewRecord(batch="1S95KT", station_id="st-1", code_payload="KC1.x", id_last4="1234"),
                           jpeg_bytes(8))
    with FakeServer() as server:
        server.script = ["commit_stall"]  # commit, then never answer: the client waits for its ack
        cfg = station_config(tmp_path, server.base_url)
        proc = sync_once(cfg)
        assert server.committed.wait(30), proc.communicate()[0].decode()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        server.release.set()
        with Store.open(tmp_path / "data", check_photos="none") as s:
            got = s.get(rec.id)
            assert got is not None and got.sync_state == "sending"  # the station never heard back
        time.sleep(1.1)  # the dead process's lease (1 s) runs out
        again = sync_once(cfg)
        out = again.communicate(timeout=60)[0].decode()
        assert again.returncode == 0, out
    assert list(server.records) == [rec.id]  # exactly one record on the server
    assert server.put_counts()[rec.id] == 2  # the replay was answered from the first commit
    with Store.open(tmp_path / "data") as s:
        got = s.get(rec.id)
        assert got is not None and got.sync_state == "sent" and got.review_status == "queued"
        assert [e["kind"] for e in s.events(rec.id)] == ["captured", "leased", "lease_expired", "leased", "sent"]


def test_daemon_uploads_then_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    with FakeServer() as server:
        cfg = station_config(tmp_path, server.base_url)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "kiosk", "sync", "--config", str(cfg)], env=env, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            with Store.open(tmp_path / "data") as s:
                rec = s.add_record(NewRecord(batch="1S95KT", station_id="st-1", code_payload="KC1.x",
                                             id_last4="1234"), jpeg_bytes(8))
            deadline = time.monotonic() + 30
            while rec.id not in server.records and time.monotonic() < deadline:
                time.sleep(0.05)
            assert rec.id in server.records
        finally:
            proc.send_signal(signal.SIGTERM)
            out = proc.communicate(timeout=30)[0].decode()
        assert proc.returncode == 0, out
    with Store.open(tmp_path / "data") as s:
        got = s.get(rec.id)
        assert got is not None and got.sync_state == "sent"
