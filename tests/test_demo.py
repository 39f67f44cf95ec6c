"""The headless demo end to end: every screen, sync to the embedded server, exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from demo_run import DemoRun

from kiosk.cli import main
from kiosk.student_tour import browser_available


@pytest.mark.slow
def test_headless_demo_runs_end_to_end(headless_demo: DemoRun) -> None:
    done, out = headless_demo.done, headless_demo.out
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    assert "headless" in done.stdout
    assert "synced: sent" in done.stdout
    assert "code bound" in done.stdout
    assert "status: queued" in done.stdout
    assert "second station: no second capture, status queued" in done.stdout
    shots = sorted(p.name for p in out.glob("*.png"))
    for screen in ("welcome", "scan", "verify", "confirm", "fee", "review", "done", "pin", "operator_menu",
                   "codeless", "done_ticket", "bind_last_four", "bind_done", "station_status", "batch_setup",
                   "statistics", "status", "staff_called", "staff_alert_acknowledged", "bind_compare",
                   "status_second_station", "consent", "still_there", "attract"):
        assert any(name.endswith(f"_{screen}.png") for name in shots), (screen, shots)
    assert all((out / name).stat().st_size > 10_000 for name in shots)
    if browser_available():  # the student's page, driven in Chromium, ends with the downloaded photo
        for page in ("queued", "approved", "confirmed"):
            for lang in ("zh", "en"):
                assert f"student_{page}_{lang}.png" in shots, (page, shots)
        assert "confirmed and downloaded" in done.stdout
        # the student's page was opened from the link on the Done screen's QR, as a phone would
        assert "student page: link read off the Done screen's QR" in done.stdout
        # the review console: the reviewer decided both records by keys, the coordinator saw the dashboard
        for page in ("login", "review", "review_done", "dashboard"):
            for lang in ("zh", "en"):
                assert f"console_{page}_{lang}.png" in shots, (page, shots)
        assert "review console: approved with the key A" in done.stdout
        assert "review console: rejected with the key 1" in done.stdout
        assert "dashboard: approved 0, rejected 1, confirmed 1" in done.stdout
        assert (out / "student_photo.jpg").read_bytes().startswith(b"\xff\xd8\xff")
    # no personal data in what the demo prints or logs
    assert "13800138000" not in done.stdout + done.stderr


def test_run_refuses_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "kiosk.toml"
    bad.write_text("[flow]\nidle_timeout_s = 'soon'\n", "utf-8")
    assert main(["run", "--config", str(bad), "--windowed"]) == 2
    assert "flow.idle_timeout_s" in capsys.readouterr().err


@pytest.mark.slow
def test_run_shows_the_station_and_stops_on_sigterm(tmp_path: Path) -> None:
    import signal
    import threading

    from kiosk.codes.keyring import KeyRing

    KeyRing.generate(tmp_path / "keys.json")
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[station]\ndata_dir = "{tmp_path / "data"}"\n[codes]\nkey_file = "{tmp_path / "keys.json"}"\n'
                      '[camera]\nsource = "demo"\n', "utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.Popen([sys.executable, "-m", "kiosk", "run", "--config", str(config)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    started = threading.Event()

    def read_log() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            lines.append(line)
            if "station.started" in line:
                started.set()

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    try:
        # the signal comes once the station says it has started (its log line), however busy the machine
        assert started.wait(120), "".join(lines)
        assert child.poll() is None, "".join(lines)
        child.send_signal(signal.SIGTERM)
        child.wait(20)
        reader.join(10)
    finally:
        if child.poll() is None:  # a failed run must not leave a station running behind the tests
            child.kill()
            child.wait(10)
    err = "".join(lines)
    assert child.returncode == 0, err
    assert "station.started" in err
