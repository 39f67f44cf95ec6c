"""The provisioning scripts: --dry-run prints every action and performs none."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kiosk import config

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
# Commands that change the machine. In the tests they are stubs that record any call,
# so a dry run that slipped would be caught instead of provisioning the test machine.
MUTATING = ("apt-get", "useradd", "usermod", "systemctl", "install", "chown", "chmod", "python3", "udevadm",
            "update-grub", "mkdir", "rm", "cp", "mv", "ln", "tee", "pip")


def _stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


@pytest.fixture
def fake_path(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A PATH whose mutating commands only log their calls; a fresh machine (nothing installed)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.log"
    for name in MUTATING:
        _stub(bin_dir, name, f'echo "{name} $*" >> "{calls}"')
    _stub(bin_dir, "dpkg-query", "exit 1")  # no package installed
    _stub(bin_dir, "id", 'if [ "$1" = -u ] && [ -n "$2" ]; then exit 1; fi; echo 0')  # no such user
    _stub(bin_dir, "getent", "exit 0")  # every group exists
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    return env, calls


def _run(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPTS / script), *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def _actions(out: str) -> list[str]:
    return [line[2:] for line in out.splitlines() if line.startswith("+ ")]


def test_station_dry_run_prints_every_action_and_does_none(fake_path, tmp_path: Path) -> None:
    env, calls = fake_path
    token = tmp_path / "station.token"
    token.write_text("secret\n")
    result = _run("install-station.sh", "--dry-run", "--station-id", "st-07", "--server-url",
                  "https://photos.example.edu.cn", "--token-file", str(token), env=env)
    assert result.returncode == 0, result.stderr
    assert not calls.exists(), calls.read_text()
    actions = _actions(result.stdout)
    text = "\n".join(actions)
    apt = next(a for a in actions if "apt-get install" in a)
    assert "--no-install-recommends" in apt
    for package in ("libzbar0", "fonts-noto-cjk", "cage", "python3-venv", "libwayland-egl1"):
        assert f" {package}" in apt
    expected = [
        "useradd --system --user-group --home-dir /var/lib/kiosk --no-create-home --shell /usr/sbin/nologin kiosk",
        "usermod -a -G video kiosk",
        "python3 -m venv /opt/kiosk/.venv",
        f"/opt/kiosk/.venv/bin/python -m pip install -q --no-cache-dir '{ROOT}[station]'",
        "install -d -m 0750 -o root -g kiosk /etc/kiosk",
        "install -d -m 0700 -o kiosk -g kiosk /var/lib/kiosk",
        "/opt/kiosk/.venv/bin/kiosk config defaults --out /etc/kiosk/kiosk.toml",
        "chmod 0640 /etc/kiosk/kiosk.toml",
        f"install -m 0600 -o kiosk -g kiosk {token} /etc/kiosk/station.token",
        f"install -m 0644 {ROOT}/systemd/99-kiosk-camera.rules /etc/udev/rules.d/99-kiosk-camera.rules",
        f"install -m 0644 {ROOT}/systemd/kiosk-station.pam /etc/pam.d/kiosk-station",
        f"install -m 0644 {ROOT}/systemd/logind-kiosk.conf /etc/systemd/logind.conf.d/kiosk.conf",
        "systemctl mask sleep.target suspend.target hibernate.target hybrid-sleep.target",
        "systemctl set-default graphical.target",
        "systemctl daemon-reload",
        "systemctl enable kiosk-station.service kiosk-sync.service kiosk-purge.timer",
    ]
    for action in expected:
        assert action in actions, action
    for unit in ("kiosk-station.service", "kiosk-sync.service", "kiosk-purge.service", "kiosk-purge.timer"):
        assert f"install -m 0644 {ROOT}/systemd/{unit} /etc/systemd/system/{unit}" in actions
    assert "consoleblank=0" in result.stdout
    assert 'id = "st-07"' in text and 'server_url = "https://photos.example.edu.cn"' in text
    assert 'source = "/dev/kiosk-camera"' in text
    # the user exists before anything is chowned to it, and units are installed before they are enabled
    assert actions.index(expected[0]) < actions.index(expected[5])
    assert text.index("/etc/systemd/system/kiosk-purge.timer") < text.index("systemctl enable")


def test_dry_run_needs_no_root_and_writes_nothing(fake_path) -> None:
    env, calls = fake_path
    result = _run("install-station.sh", "--dry-run", "--no-start", env=env)
    assert result.returncode == 0, result.stderr
    assert not calls.exists()
    assert not any(a.startswith("systemctl start") for a in _actions(result.stdout))
    assert "no station token yet" in result.stderr


def test_a_second_run_skips_what_is_there(fake_path, tmp_path: Path) -> None:
    env, _ = fake_path
    bin_dir = Path(env["PATH"].split(":")[0])
    _stub(bin_dir, "dpkg-query", 'printf "install ok installed"')
    _stub(bin_dir, "id", "echo 999")
    result = _run("install-station.sh", "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    assert "apt-get" not in result.stdout and "useradd" not in result.stdout
    assert "system packages: all installed" in result.stdout
    assert "user kiosk: exists" in result.stdout


def test_camera_pinning_writes_a_rule_for_that_camera(fake_path) -> None:
    env, calls = fake_path
    result = _run("install-station.sh", "--dry-run", "--camera", "046d:0825", env=env)
    assert result.returncode == 0, result.stderr
    rule = [line for line in result.stdout.splitlines() if line.startswith("SUBSYSTEM==")]
    assert len(rule) == 1
    assert 'ATTRS{idVendor}=="046d", ATTRS{idProduct}=="0825", SYMLINK+="kiosk-camera"' in rule[0]
    assert not calls.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--camera", "logitech"], "VENDOR:PRODUCT"),
        (["--frobnicate"], "unknown option --frobnicate"),
        (["--token-file", "/nonexistent/token"], "cannot read /nonexistent/token"),
        (["--station-id"], "needs a value"),
    ],
)
def test_bad_options_are_refused(fake_path, args: list[str], message: str) -> None:
    env, calls = fake_path
    result = _run("install-station.sh", "--dry-run", *args, env=env)
    assert result.returncode != 0
    assert message in result.stderr
    assert not calls.exists()


def test_server_dry_run(fake_path) -> None:
    env, calls = fake_path
    result = _run("install-server.sh", "--dry-run", "--host", "0.0.0.0", "--port", "8443", env=env)
    assert result.returncode == 0, result.stderr
    assert not calls.exists()
    actions = _actions(result.stdout)
    text = "\n".join(actions)
    for action in (
        "useradd --system --user-group --home-dir /var/lib/kiosk-server --no-create-home "
        "--shell /usr/sbin/nologin kiosk-server",
        "install -d -m 0700 -o kiosk-server -g kiosk-server /var/lib/kiosk-server",
        "install -d -m 0750 -o root -g kiosk-server /etc/kiosk-server",
        "/opt/kiosk/.venv/bin/kiosk config defaults --server --out /etc/kiosk-server/server.toml",
        "/opt/kiosk/.venv/bin/kiosk server --config /etc/kiosk-server/server.toml admin-token --create",
        "chmod 0600 /etc/kiosk-server/admin.token",
        "chmod 0600 /etc/kiosk-server/code-keys.json",
        "systemctl enable kiosk-server.service kiosk-server-purge.timer",
        "systemctl restart kiosk-server.service",
    ):
        assert action in actions, action
    assert 'host = "0.0.0.0"' in text and "port = 8443" in text
    assert "--no-install-recommends" in text
    assert "libzbar0" not in text and "cage" not in text  # a server has no camera and no screen


@pytest.mark.parametrize("script", ["install-station.sh", "install-server.sh", "install-common.sh"])
def test_every_change_goes_through_run(script: str) -> None:
    """No line runs a mutating command directly: it is `run CMD` or inside put_file."""
    pattern = re.compile(r"^\s*(?:if\s+|\|\|\s*|&&\s*)?(" + "|".join(map(re.escape, MUTATING)) + r")\s")
    source = (SCRIPTS / script).read_text().splitlines()
    # continuation lines (package lists) are arguments, not commands
    direct = [line for i, line in enumerate(source)
              if pattern.match(line) and not (i and source[i - 1].endswith("\\"))]
    # the one exception: put_file's own write, which it guards with DRY_RUN
    direct = [line for line in direct if "install -m \"$mode\"" not in line]
    assert direct == []


@pytest.mark.parametrize("script", ["install-station.sh", "install-server.sh", "install-common.sh"])
def test_scripts_parse_and_lint(script: str) -> None:
    assert subprocess.run(["bash", "-n", str(SCRIPTS / script)], check=False).returncode == 0
    if shutil.which("shellcheck"):
        result = subprocess.run(["shellcheck", "-x", "-S", "warning", str(SCRIPTS / script)], cwd=SCRIPTS,
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout


def test_config_edits_land_in_the_right_sections(tmp_path: Path) -> None:
    """The sed edits the scripts print really set the keys, in their own sections only."""
    target = tmp_path / "kiosk.toml"
    shutil.copy(ROOT / "config/kiosk.toml", target)
    script = (
        f'source "{SCRIPTS}/install-common.sh"; DRY_RUN=0; '
        f'set_key "{target}" station id "$(toml_string \'st-"07"\')"; '
        f'set_key "{target}" sync server_url "$(toml_string "https://a.example/x|y")"; '
        f'set_key "{target}" camera source \'"/dev/kiosk-camera"\''
    )
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    cfg = config.load_station(target)
    assert cfg.station.id == 'st-"07"'
    assert cfg.sync.server_url == "https://a.example/x|y"
    assert cfg.camera.source == "/dev/kiosk-camera"
    assert cfg.codes == config.CodesSection()  # nothing else touched


def test_put_file_writes_with_mode_and_owner(tmp_path: Path) -> None:
    target = tmp_path / "etc" / "kiosk.cfg"
    target.parent.mkdir()
    owner = f"{os.getuid()}:{os.getgid()}"
    script = f'source "{SCRIPTS}/install-common.sh"; DRY_RUN=0; printf "one\\ntwo" | put_file 0640 {owner} "{target}"'
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert target.read_text() == "one\ntwo\n"
    assert target.stat().st_mode & 0o777 == 0o640
    dry_script = script.replace("DRY_RUN=0", "DRY_RUN=1").replace(str(target), str(target) + "2")
    dry = subprocess.run(["bash", "-c", dry_script], capture_output=True, text=True, check=False)
    assert dry.returncode == 0 and "one\ntwo" in dry.stdout
    assert not Path(str(target) + "2").exists()


#: what the wheel's xcb platform plugin links against on Debian 12 (`ldd libqxcb.so libQt5XcbQpa.so.5`)
XCB_PACKAGES = ("libx11-6", "libx11-xcb1", "libxcb1", "libxcb-icccm4", "libxcb-image0", "libxcb-keysyms1",
                "libxcb-randr0", "libxcb-render0", "libxcb-render-util0", "libxcb-shape0", "libxcb-shm0",
                "libxcb-sync1", "libxcb-util1", "libxcb-xfixes0", "libxcb-xinerama0", "libxcb-xkb1",
                "libxkbcommon0", "libxkbcommon-x11-0")


def test_setup_installs_every_library_of_the_xcb_platform_plugin() -> None:
    # a missing one (libxcb-icccm4 was) only shows as "could not load the Qt platform plugin xcb"
    text = (Path(__file__).resolve().parents[1] / "scripts" / "setup.sh").read_text()
    listed = set(re.search(r"APT_PACKAGES=\((.*?)\n\)", text, re.S).group(1).split())  # type: ignore[union-attr]
    assert set(XCB_PACKAGES) <= listed


def test_the_xcb_plugin_finds_its_libraries_here() -> None:
    import PyQt5

    plugin = Path(PyQt5.__file__).parent / "Qt5" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.exists() or shutil.which("ldd") is None:
        pytest.skip("no xcb plugin or no ldd")
    out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, check=False).stdout
    assert "not found" not in out, out
