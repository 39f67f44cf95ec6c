"""kiosk doctor: each fault named in plain words, with the right severity and exit code."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kiosk import config, doctor
from kiosk.camera import CameraReport
from kiosk.cli import main
from kiosk.codes.keyring import KeyRing
from kiosk.sync.heartbeat import Heartbeat, write_heartbeat
from kiosk.text import table

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
GOOD_CAMERA = CameraReport(opened=True, name="/dev/kiosk-camera", width=1280, height=720, fps_measured=29.7,
                           frames=60)


@pytest.fixture
def cfg(tmp_path: Path) -> config.StationConfig:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    keys = tmp_path / "code-keys.json"
    KeyRing.generate(keys)
    token = tmp_path / "station.token"
    token.write_text("station-secret\n")
    token.chmod(0o600)
    base = config.StationConfig()
    return replace(base, station=replace(base.station, data_dir=data, id="st-07"),
                   codes=replace(base.codes, key_file=keys),
                   sync=replace(base.sync, token_file=token, connect_timeout_s=2, read_timeout_s=2))


def probes(camera: CameraReport | Exception = GOOD_CAMERA, free: int = 50 * 1024 ** 3,
           now: datetime = NOW) -> doctor.Probes:
    def fake_camera(settings: Any, seconds: float) -> CameraReport:
        if isinstance(camera, Exception):
            raise camera
        return camera

    return doctor.Probes(camera=fake_camera, camera_users=lambda source: [], free_bytes=lambda path: free,
                         now=lambda: now)


def only(cfg: config.StationConfig, check: Callable[..., list[doctor.Finding]], p: doctor.Probes | None = None,
         ) -> dict[str, doctor.Finding]:
    found = doctor.run_checks(cfg, p or probes(), checks=(check,))
    for f in found:
        assert f.message_key in table(), f.message_key
        assert not f.message("zh").startswith("doctor.")
    return {f.name: f for f in found}


def with_server(cfg: config.StationConfig, url: str, batch: str = "") -> config.StationConfig:
    return replace(cfg, sync=replace(cfg.sync, server_url=url), station=replace(cfg.station, batch=batch))


# -- the whole run ---------------------------------------------------------------


def test_a_healthy_offline_station_passes(cfg) -> None:
    findings = doctor.run_checks(cfg, probes())
    bad = [(f.name, f.message_key, f.detail) for f in findings if not f.ok]
    assert bad == []
    names = [f.name for f in findings]
    assert names == ["camera", "decoder", "face", "data_dir", "disk", "database", "code_keys", "server", "clock",
                     "sync"]
    assert doctor.exit_code(findings) == 0


def test_exit_codes_follow_the_worst_finding() -> None:
    ok = doctor.finding("a", doctor.OK, "doctor.disk.ok")
    warn = doctor.finding("b", doctor.WARNING, "doctor.disk.low")
    fatal = doctor.finding("c", doctor.FATAL, "doctor.disk.full")
    assert doctor.exit_code([]) == 0
    assert doctor.exit_code([ok]) == 0
    assert doctor.exit_code([ok, warn]) == 1
    assert doctor.exit_code([warn, fatal, ok]) == 2


def test_a_crashing_check_is_itself_a_fatal_finding(cfg) -> None:
    def check_boom(cfg: Any, probes: Any) -> list[doctor.Finding]:
        raise RuntimeError("bug")

    found = doctor.run_checks(cfg, probes(), checks=(check_boom,))
    assert [(f.name, f.severity, f.message_key) for f in found] == [("boom", "fatal", "doctor.check_crashed")]


# -- the camera ------------------------------------------------------------------


def test_missing_camera_is_fatal_with_the_real_probe(cfg) -> None:
    cfg = replace(cfg, camera=replace(cfg.camera, source="/dev/video97"))
    real = doctor.Probes(camera_seconds=0.1)
    f = only(cfg, doctor.check_camera, real)["camera"]
    assert f.severity == doctor.FATAL and f.message_key == "doctor.camera.missing"
    assert "USB" in f.message("en") and "/dev/video97" in f.message("zh")


def test_a_camera_held_by_the_running_station_is_named_as_such(cfg) -> None:
    p = probes(camera=CameraReport(opened=False, name="/dev/kiosk-camera", error_key="camera.open_failed"))
    p.camera_users = lambda source: [4242]
    f = only(cfg, doctor.check_camera, p)["camera"]
    assert (f.severity, f.message_key) == ("warning", "doctor.camera.in_use")
    assert "4242" in f.message("en") and "kiosk-station" in f.message("zh")


def test_camera_users_finds_a_process_holding_the_device(tmp_path: Path) -> None:
    import subprocess
    import sys

    device = tmp_path / "video-standin"
    device.write_text("")
    holder = subprocess.Popen([sys.executable, "-c", f"f = open({str(device)!r}); input()"],
                              stdin=subprocess.PIPE)
    try:
        for _ in range(100):
            if doctor.camera_users(str(device)):
                break
            threading.Event().wait(0.02)
        assert doctor.camera_users(str(device)) == [holder.pid]
    finally:
        holder.communicate(b"\n", timeout=5)
    assert doctor.camera_users(str(device)) == []


@pytest.mark.parametrize(
    ("report", "severity", "key"),
    [
        (GOOD_CAMERA, "ok", "doctor.camera.ok"),
        (CameraReport(opened=False, name="auto", error_key="camera.not_found"), "fatal", "doctor.camera.missing"),
        (OSError("driver"), "fatal", "doctor.camera.failed"),
        (replace(GOOD_CAMERA, fps_measured=9.0), "warning", "doctor.camera.slow"),
        (replace(GOOD_CAMERA, width=640, height=480), "warning", "doctor.camera.resolution"),
        (replace(GOOD_CAMERA, name="demo"), "warning", "doctor.camera.demo"),
        (replace(GOOD_CAMERA, error_key="camera.lost", frames=3), "warning", "doctor.camera.unstable"),
        (replace(GOOD_CAMERA, error_key="camera.lost", frames=0), "fatal", "doctor.camera.missing"),
    ],
)
def test_camera_findings(cfg, report: Any, severity: str, key: str) -> None:
    f = only(cfg, doctor.check_camera, probes(camera=report))["camera"]
    assert (f.severity, f.message_key) == (severity, key)


# -- decoder and face detector ---------------------------------------------------------


def test_decoder_reads_the_built_in_code(cfg) -> None:
    f = only(cfg, doctor.check_decoder)["decoder"]
    assert f.ok, f.detail


def test_a_decoder_that_cannot_load_is_fatal(cfg, monkeypatch) -> None:
    import kiosk.scanner

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ImportError("libzbar.so.0: cannot open shared object file")

    monkeypatch.setattr(kiosk.scanner, "Scanner", broken)
    f = only(cfg, doctor.check_decoder)["decoder"]
    assert (f.severity, f.message_key) == ("fatal", "doctor.decoder.failed")


def test_a_decoder_that_reads_nothing_is_fatal(cfg, monkeypatch) -> None:
    import kiosk.scanner

    class Blind:
        def __init__(self, settings: Any) -> None:
            pass

        def decode(self, gray: Any) -> list[Any]:
            return []

    monkeypatch.setattr(kiosk.scanner, "Scanner", Blind)
    assert only(cfg, doctor.check_decoder)["decoder"].message_key == "doctor.decoder.no_read"


def test_face_detector_finds_the_synthetic_face(cfg) -> None:
    f = only(cfg, doctor.check_face)["face"]
    assert f.ok, f.detail


def test_a_face_detector_that_sees_nothing_is_fatal(cfg, monkeypatch) -> None:
    import kiosk.portrait.analysis as analysis

    class Blind:
        def __init__(self, settings: Any) -> None:
            pass

        def analyse(self, frame: Any) -> Any:
            return analysis.Analysis(checks=[])

    monkeypatch.setattr(analysis, "Analyzer", Blind)
    assert only(cfg, doctor.check_face)["face"].message_key == "doctor.face.no_face"


# -- disk, data directory, database, keys ---------------------------------------------------


@pytest.mark.parametrize(
    ("free", "severity", "key"),
    [(50 * 1024 ** 3, "ok", "doctor.disk.ok"), (1024 ** 3, "warning", "doctor.disk.low"),
     (10 * 1024 ** 2, "fatal", "doctor.disk.full"), (0, "fatal", "doctor.disk.full")],
)
def test_disk_space(cfg, free: int, severity: str, key: str) -> None:
    f = only(cfg, doctor.check_disk, probes(free=free))["disk"]
    assert (f.severity, f.message_key) == (severity, key)


def test_unreadable_disk_space_is_fatal(cfg) -> None:
    p = probes()

    def fail(path: Path) -> int:
        raise OSError(5, "I/O error")

    p.free_bytes = fail
    assert only(cfg, doctor.check_disk, p)["disk"].severity == "fatal"


def test_missing_or_open_data_dir(cfg, tmp_path: Path) -> None:
    missing = replace(cfg, station=replace(cfg.station, data_dir=tmp_path / "nope"))
    assert only(missing, doctor.check_disk)["data_dir"].message_key == "doctor.data_dir.missing"
    cfg.station.data_dir.chmod(0o755)
    f = only(cfg, doctor.check_disk)["data_dir"]
    assert (f.severity, f.message_key) == ("warning", "doctor.data_dir.open")


def test_a_real_store_database_is_intact(cfg) -> None:
    from kiosk.store import Store

    Store.open(cfg.station.data_dir).close()
    assert only(cfg, doctor.check_database)["database"].message_key == "doctor.database.ok"


def test_garbage_database_is_fatal(cfg) -> None:
    (cfg.station.data_dir / "kiosk.db").write_bytes(b"this is not a database at all" * 100)
    f = only(cfg, doctor.check_database)["database"]
    assert (f.severity, f.message_key) == ("fatal", "doctor.database.damaged")
    assert "请勿删除" in f.message("zh") and "not a database" in f.message("en")
    assert "kiosk records recover" in f.message("en")


def test_a_damaged_page_is_found_by_the_integrity_check(cfg) -> None:
    path = cfg.station.data_dir / "kiosk.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.execute("CREATE INDEX t_v ON t (v)")
    conn.executemany("INSERT INTO t (v) VALUES (?)", [(f"value-{i:05d}",) for i in range(3000)])
    conn.commit()
    conn.close()
    raw = bytearray(path.read_bytes())
    page = 4096
    for offset in range(3 * page + 100, 3 * page + 900):  # scribble over the middle of a b-tree page
        raw[offset] = 0x5A
    path.write_bytes(bytes(raw))
    f = only(cfg, doctor.check_database)["database"]
    assert (f.severity, f.message_key) == ("fatal", "doctor.database.corrupt")


def test_no_database_yet_is_fine_and_none_is_created(cfg) -> None:
    assert only(cfg, doctor.check_database)["database"].message_key == "doctor.database.new"
    assert not (cfg.station.data_dir / "kiosk.db").exists()


def test_missing_code_keys_are_fatal(cfg, tmp_path: Path) -> None:
    broken = replace(cfg, codes=replace(cfg.codes, key_file=tmp_path / "none.json"))
    f = only(broken, doctor.check_keys)["code_keys"]
    assert (f.severity, f.message_key) == ("fatal", "doctor.code_keys.failed")
    assert "none.json" in f.message("en")


# -- server, token, clock --------------------------------------------------------------


class FakeServer:
    """A small HTTP server standing in for the collection server."""

    def __init__(self) -> None:
        self.health_body: bytes = b'{"status": "ok", "time": "2026-06-01T09:00:00Z"}'
        self.health_type = "application/json"
        self.date: datetime | None = NOW
        self.date_header: str | None = None  # sent as it is instead of ``date``
        self.auth_status = 200
        self.seen_auth: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def date_time_string(self, timestamp: float | None = None) -> str:
                if fake.date_header is not None:
                    return fake.date_header
                return format_datetime(fake.date, usegmt=True) if fake.date else ""

            def _answer(self, status: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/api/v1/health":
                    self._answer(200, fake.health_body, fake.health_type)
                else:
                    self._auth()

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self._auth()

            def _auth(self) -> None:
                fake.seen_auth.append(f"{self.command} {self.path} {self.headers.get('Authorization')}")
                status = fake.auth_status
                body = b'{"records": []}' if status == 200 else b'{"title": "no"}'
                self._answer(status, body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    yield fake
    fake.close()


def test_a_good_server_token_and_clock(cfg, server: FakeServer) -> None:
    found = only(with_server(cfg, server.url), doctor.check_server)
    assert {n: f.message_key for n, f in found.items()} == {
        "server": "doctor.server.ok", "clock": "doctor.clock.ok", "token": "doctor.token.ok",
        "server_url": "doctor.server_url.plain_http"}  # the fake server is plain http on loopback
    assert server.seen_auth == ["POST /api/v1/records/status Bearer station-secret"]
    assert found["server_url"].severity == "warning" and "https://" in found["server_url"].message("en")


def test_an_https_server_gets_no_plain_http_warning(cfg) -> None:
    found = only(with_server(cfg, "https://127.0.0.1:9"), doctor.check_server)
    assert "server_url" not in found


def test_with_a_batch_the_token_is_tried_on_it(cfg, server: FakeServer) -> None:
    found = only(with_server(cfg, server.url, batch="1s95kt"), doctor.check_server)
    assert found["token"].ok
    assert server.seen_auth == ["GET /api/v1/batches/1S95KT Bearer station-secret"]
    server.auth_status = 404
    found = only(with_server(cfg, server.url, batch="1s95kt"), doctor.check_server)
    assert found["token"].message_key == "doctor.token.batch_unknown"


@pytest.mark.parametrize("status", [401, 403])
def test_revoked_token(cfg, server: FakeServer, status: int) -> None:
    server.auth_status = status
    found = only(with_server(cfg, server.url), doctor.check_server)
    f = found["token"]
    assert (f.severity, f.message_key) == ("warning", "doctor.token.refused")
    assert "revoked" in f.message("en") and "st-07" in f.message("en")
    assert found["server"].ok


def test_unreachable_server(cfg) -> None:
    with socket.socket() as s:  # a port that is bound and not listening refuses connections
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        found = only(with_server(cfg, f"http://127.0.0.1:{port}"), doctor.check_server)
    f = found["server"]
    assert (f.severity, f.message_key) == ("warning", "doctor.server.unreachable")
    assert "photos are kept" in f.message("en")
    assert found["clock"].message_key == "doctor.clock.local"
    assert "token" not in found


def test_a_login_portal_is_not_the_server(cfg, server: FakeServer) -> None:
    server.health_body, server.health_type = b"<html>Please log in</html>", "text/html"
    f = only(with_server(cfg, server.url), doctor.check_server)["server"]
    assert (f.severity, f.message_key) == ("warning", "doctor.server.not_server")


@pytest.mark.parametrize(
    ("skew", "severity", "key"),
    [(timedelta(seconds=5), "ok", "doctor.clock.ok"), (timedelta(minutes=5), "warning", "doctor.clock.off"),
     (timedelta(hours=-3), "fatal", "doctor.clock.far_off")],
)
def test_clock_against_the_server_date(cfg, server: FakeServer, skew: timedelta, severity: str, key: str) -> None:
    server.date = NOW - skew
    f = only(with_server(cfg, server.url), doctor.check_server)["clock"]
    assert (f.severity, f.message_key) == (severity, key)
    if key == "doctor.clock.off":  # ahead or behind, in the reader's own language
        assert "快" in f.message("zh") and "ahead" in f.message("en")
    if key == "doctor.clock.far_off":
        assert "慢" in f.message("zh") and "behind" in f.message("en")


@pytest.mark.parametrize("header", [
    "Mon, 01 Jun 2026 09:00:02 -0000",  # two seconds after NOW; RFC 2822 "zone unknown": a naive time
    "Mon, 01 Jun 2026 09:00:02",
])
def test_a_date_header_without_a_zone_is_read_as_utc(cfg, server: FakeServer, header: str) -> None:
    server.date_header = header
    f = only(with_server(cfg, server.url), doctor.check_server)["clock"]
    assert (f.severity, f.message_key) == ("ok", "doctor.clock.ok")


def test_a_garbled_date_header_falls_back_to_the_local_clock(cfg, server: FakeServer) -> None:
    server.date_header = "yesterday-ish"
    f = only(with_server(cfg, server.url), doctor.check_server)["clock"]
    assert f.message_key == "doctor.clock.local"


@pytest.mark.parametrize("content", [b"\xff\xfe\x00\x81garbage", "令牌".encode(), b"two\nlines"])
def test_a_garbled_token_file_is_a_warning_not_a_crash(cfg, server: FakeServer, content: bytes) -> None:
    cfg.sync.token_file.write_bytes(content)
    f = only(with_server(cfg, server.url), doctor.check_server)["token"]
    assert (f.severity, f.message_key) == ("warning", "doctor.token.malformed")
    assert "issue" in f.message("en") and str(cfg.sync.token_file) in f.message("en")
    assert server.seen_auth == []  # never sent


def test_a_clock_from_1970_is_fatal_even_offline(cfg) -> None:
    f = only(cfg, doctor.check_server, probes(now=datetime(1970, 1, 1, tzinfo=UTC)))["clock"]
    assert (f.severity, f.message_key) == ("fatal", "doctor.clock.unset")


def test_token_file_missing_or_open(cfg, server: FakeServer) -> None:
    cfg.sync.token_file.chmod(0o644)
    assert only(with_server(cfg, server.url), doctor.check_server)["token"].message_key == "doctor.token.open"
    cfg.sync.token_file.unlink()
    found = only(with_server(cfg, server.url), doctor.check_server)
    assert found["token"].message_key == "doctor.token.missing"


# -- the sync heartbeat -------------------------------------------------------------------


def _beat(**kw: Any) -> Heartbeat:
    base = {"at": NOW - timedelta(seconds=10), "pid": 1, "server_url": "https://s", "queue_length": 0,
            "last_success": NOW - timedelta(minutes=1)}
    return Heartbeat(**{**base, **kw})


@pytest.mark.parametrize(
    ("beat", "key"),
    [
        (None, "doctor.sync.never"),
        (_beat(), "doctor.sync.ok"),
        (_beat(at=NOW - timedelta(hours=2)), "doctor.sync.stale"),
        (_beat(paused=True, queue_length=4), "doctor.sync.paused"),
        (_beat(queue_length=4, last_success=NOW - timedelta(hours=3)), "doctor.sync.stalled"),
        (_beat(queue_length=4, last_success=None), "doctor.sync.stalled"),
        (_beat(dead=2), "doctor.sync.dead"),
    ],
)
def test_sync_heartbeat(cfg, beat: Heartbeat | None, key: str) -> None:
    cfg = with_server(cfg, "https://s")
    if beat is not None:
        write_heartbeat(cfg.station.data_dir, beat)
    f = only(cfg, doctor.check_sync)["sync"]
    assert f.message_key == key
    assert f.ok == (key == "doctor.sync.ok")


# -- the command ------------------------------------------------------------------------


def _write_config(tmp_path: Path, cfg: config.StationConfig, camera: str = "/dev/video97") -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[station]\ndata_dir = "{cfg.station.data_dir}"\n[codes]\nkey_file = "{cfg.codes.key_file}"\n'
                    f'[camera]\nsource = "{camera}"\n', "utf-8")
    return path


def test_command_json_and_exit_code(cfg, tmp_path: Path, capsys) -> None:
    path = _write_config(tmp_path, cfg)
    code = main(["doctor", "--config", str(path), "--json", "--camera-seconds", "0.1"])
    out = json.loads(capsys.readouterr().out)
    assert code == 2 and out["exit_code"] == 2 and out["can_run"] is False
    camera = next(f for f in out["findings"] if f["name"] == "camera")
    assert camera["severity"] == "fatal" and "USB" in camera["message_en"] and camera["message_zh"]
    assert out["findings"][0]["name"] == "config" and out["findings"][0]["ok"]


def test_command_table_speaks_both_languages(cfg, tmp_path: Path, capsys) -> None:
    path = _write_config(tmp_path, cfg)
    assert main(["doctor", "--config", str(path), "--camera-seconds", "0.1", "--lang", "en"]) == 2
    out = capsys.readouterr().out
    assert re.search(r"^FAIL\s+camera\s+No camera", out, re.M)
    assert "找不到摄像头" in out
    assert out.rstrip().endswith("不能开始采集：请先解决标为 FAIL 的问题")


def test_command_with_an_invalid_config(tmp_path: Path, capsys) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text("[camera]\nfps = 'fast'\n", "utf-8")
    assert main(["doctor", "--config", str(path), "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert [f["name"] for f in out["findings"]] == ["config"]
    assert "camera.fps" in out["findings"][0]["message_en"]


def test_every_message_key_in_the_doctor_exists() -> None:
    source = (ROOT / "kiosk/doctor/__init__.py").read_text() + (ROOT / "kiosk/doctor/net.py").read_text()
    keys = set(re.findall(r'"(doctor\.[a-z_]+\.[a-z_]+)"', source)) | {"doctor.check_crashed"}
    missing = sorted(k for k in keys if k not in table())
    assert missing == []
    assert len(keys) > 40


@pytest.mark.parametrize("seconds", ["nan", "inf", "-1", "0", "100000"])
def test_camera_seconds_outside_a_sane_range_is_refused(seconds: str, capsys) -> None:
    from kiosk.cli import build_parser

    # "nan" never ends the camera probe's loop; "inf" or a day of it does not end it either
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["doctor", "--camera-seconds", seconds])
    assert info.value.code == 2
    assert "camera-seconds" in capsys.readouterr().err
    assert build_parser().parse_args(["doctor", "--camera-seconds", "0.1"]).camera_seconds == 0.1
