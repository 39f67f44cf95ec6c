"""The systemd units: `systemd-analyze verify` is clean, and each unit keeps its promises."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "systemd"
SERVICES = sorted(p.name for p in UNITS.glob("*.service"))
TIMERS = sorted(p.name for p in UNITS.glob("*.timer"))
# Binaries the units start; on a test machine they are replaced by stubs.
BINARIES = ("/opt/kiosk/.venv/bin/kiosk", "/usr/bin/cage")

HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "PrivateTmp": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "CapabilityBoundingSet": "",
    "SystemCallArchitectures": "native",
}


def parse_unit(path: Path) -> dict[str, list[str]]:
    """``Section.Key -> [values]`` (keys such as Environment= may repeat)."""
    out: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text("utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.setdefault(f"{section}.{key}", []).append(value)
    return out


def one(unit: dict[str, list[str]], key: str) -> str:
    values = unit.get(key, [])
    assert len(values) == 1, f"{key}: {values}"
    return values[0]


def test_the_expected_units_ship() -> None:
    assert set(SERVICES) >= {"kiosk-station.service", "kiosk-sync.service", "kiosk-purge.service",
                             "kiosk-server.service", "kiosk-server-purge.service"}
    assert set(TIMERS) == {"kiosk-purge.timer", "kiosk-server-purge.timer"}


@pytest.fixture(scope="module")
def stubbed_units(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the units whose ExecStart binaries point at stubs when the real ones are absent."""
    out = tmp_path_factory.mktemp("units")
    stubs = out / "bin"
    stubs.mkdir()
    for name in [*SERVICES, *TIMERS]:
        text = (UNITS / name).read_text("utf-8")
        for binary in BINARIES:
            if not Path(binary).exists():
                stub = stubs / Path(binary).name
                stub.write_text("#!/bin/sh\nexit 0\n")
                stub.chmod(0o755)
                text = text.replace(binary, str(stub))
        (out / name).write_text(text, "utf-8")
    return out


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_is_clean(stubbed_units: Path) -> None:
    names = [*SERVICES, *TIMERS]
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *names], cwd=stubbed_units,
                            capture_output=True, text=True, timeout=60, check=False)
    # verify exits 0 on unknown keys and bad values, only warning about them: any output is a failure
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
    assert result.stdout.strip() == "", result.stdout


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("name", SERVICES)
def test_exposure_stays_low(stubbed_units: Path, name: str) -> None:
    result = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", name],
                            cwd=stubbed_units, capture_output=True, text=True, timeout=60, check=False)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    if match is None:
        pytest.skip("this systemd-analyze cannot rate units offline")
    # 10 is an unhardened service; the station needs devices and the network, so it has the most
    assert float(match.group(1)) <= 2.5, result.stdout


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_is_hardened(name: str) -> None:
    unit = parse_unit(UNITS / name)
    for key, value in HARDENING.items():
        assert one(unit, f"Service.{key}") == value, key
    assert one(unit, "Service.User") in ("kiosk", "kiosk-server")
    assert one(unit, "Service.UMask") == "0077"
    assert one(unit, "Service.StateDirectoryMode") == "0700"
    data = "/var/lib/" + one(unit, "Service.StateDirectory")
    assert data in one(unit, "Service.ReadWritePaths").split()
    assert "RestrictAddressFamilies" in " ".join(k for k in unit if k.startswith("Service."))


def test_the_server_may_hold_many_connections() -> None:
    # uvicorn's connection limit ([server] max_connections) must bind before the file-descriptor limit does
    from kiosk.config import ServerSection

    limit = int(one(parse_unit(UNITS / "kiosk-server.service"), "Service.LimitNOFILE"))
    assert limit >= 4 * ServerSection().max_connections


def test_station_is_a_watched_kiosk_on_the_display() -> None:
    unit = parse_unit(UNITS / "kiosk-station.service")
    assert one(unit, "Service.Type") == "notify"
    assert one(unit, "Service.NotifyAccess") == "all"  # the client of cage pings, not cage
    assert int(one(unit, "Service.WatchdogSec")) > 0
    assert one(unit, "Service.Restart") == "always"
    assert one(unit, "Unit.StartLimitIntervalSec") == "0"
    assert one(unit, "Service.User") == "kiosk"
    assert "video" in one(unit, "Service.SupplementaryGroups").split()
    assert "char-video4linux rw" in unit["Service.DeviceAllow"]
    assert "char-drm rw" in unit["Service.DeviceAllow"]
    assert "QT_QPA_PLATFORM=wayland" in unit["Service.Environment"]
    exec_start = one(unit, "Service.ExecStart").split()
    assert exec_start[0] == "/usr/bin/cage"
    assert exec_start[exec_start.index("--") + 1:] == [
        "/opt/kiosk/.venv/bin/kiosk", "run", "--config", "/etc/kiosk/kiosk.toml"]
    assert one(unit, "Service.PAMName") == "kiosk-station"
    assert (UNITS / "kiosk-station.pam").read_text().count("pam_systemd.so") == 1
    assert "getty@tty1.service" in one(unit, "Unit.Conflicts")
    assert one(unit, "Install.WantedBy") == "graphical.target"


@pytest.mark.parametrize(
    ("name", "argv"),
    [
        ("kiosk-sync.service", ["sync", "--config", "/etc/kiosk/kiosk.toml"]),
        ("kiosk-purge.service", ["purge", "--config", "/etc/kiosk/kiosk.toml"]),
        ("kiosk-server.service", ["server", "--config", "/etc/kiosk-server/server.toml"]),
        ("kiosk-server-purge.service", ["server", "purge", "--config", "/etc/kiosk-server/server.toml"]),
    ],
)
def test_daemons_and_purges_run_the_right_subcommand(name: str, argv: list[str]) -> None:
    unit = parse_unit(UNITS / name)
    assert one(unit, "Service.ExecStart").split() == ["/opt/kiosk/.venv/bin/kiosk", *argv]
    if name == "kiosk-sync.service":
        assert one(unit, "Service.Type") == "notify"  # `kiosk sync` sends READY=1
    if "purge" in name:
        assert one(unit, "Service.Type") == "oneshot"
        assert one(unit, "Service.PrivateNetwork") == "yes"
    else:
        assert one(unit, "Service.Restart") == "always"


@pytest.mark.parametrize(
    ("argv"),
    [
        ["sync", "--config", "/etc/kiosk/kiosk.toml"],
        ["purge", "--config", "/etc/kiosk/kiosk.toml"],
        ["doctor", "--config", "/etc/kiosk/kiosk.toml"],
        ["run", "--config", "/etc/kiosk/kiosk.toml"],
        ["server", "--config", "/etc/kiosk-server/server.toml"],
        ["server", "purge", "--config", "/etc/kiosk-server/server.toml"],
    ],
)
def test_the_command_lines_of_the_units_parse(argv: list[str]) -> None:
    from kiosk.cli import COMMANDS, build_parser

    if importlib.util.find_spec(f"kiosk.cli.{COMMANDS[argv[0]][0]}") is None:
        pytest.skip(f"kiosk {argv[0]} is not in this build yet")
    args = build_parser().parse_args(argv)
    assert str(args.config) == argv[-1]


@pytest.mark.parametrize("name", TIMERS)
def test_timers_run_daily_and_catch_up(name: str) -> None:
    unit = parse_unit(UNITS / name)
    assert one(unit, "Timer.Persistent") == "true"
    assert one(unit, "Timer.OnCalendar").startswith("*-*-* ")
    assert one(unit, "Timer.Unit") == name.replace(".timer", ".service")
    assert one(unit, "Install.WantedBy") == "timers.target"


def test_udev_rule_names_the_capture_node() -> None:
    rules = [line for line in (UNITS / "99-kiosk-camera.rules").read_text().splitlines()
             if line and not line.startswith("#")]
    assert len(rules) == 1
    rule = rules[0]
    for part in ('SUBSYSTEM=="video4linux"', 'ATTR{index}=="0"', 'SYMLINK+="kiosk-camera"', 'GROUP="video"',
                 'ENV{ID_V4L_CAPABILITIES}=="*:capture:*"'):
        assert part in rule
