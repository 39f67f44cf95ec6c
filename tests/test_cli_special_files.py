"""Paths named on the command line: a FIFO is never read for ever, a device or a FIFO is never replaced."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from test_sync_fakes import jpeg_bytes

from kiosk import durable
from kiosk.cli import main
from kiosk.codes import KeyRing
from kiosk.userfiles import NotRegularFile, check_output, read_input

# a FIFO with no writer would block an ordinary open() for ever: the timeout turns a hang into a failure
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def still_a_fifo(path: Path) -> bool:
    return stat.S_ISFIFO(os.lstat(path).st_mode)


@pytest.fixture
def station_cfg(tmp_path: Path) -> Path:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[station]\ndata_dir = "{tmp_path / "data"}"\n[codes]\nkey_file = "{tmp_path / "keys.json"}"\n'
                   '[logging]\nlevel = "ERROR"\n')
    return cfg


def test_reading_a_fifo_a_device_or_a_folder_is_refused_at_once(fifo: Path, tmp_path: Path) -> None:
    for path in (fifo, Path("/dev/zero"), tmp_path):
        with pytest.raises(NotRegularFile) as info:
            read_input(path, 1000)
        assert str(path) in info.value.message("en") and "not a regular file" in info.value.message("en")
    regular = tmp_path / "f"
    regular.write_bytes(b"abc")
    assert read_input(regular, 3) == b"abc"


def test_a_device_or_a_fifo_is_never_replaced_by_a_durable_write(fifo: Path) -> None:
    for path in (Path("/dev/null"), fifo):
        with pytest.raises(NotRegularFile):
            check_output(path)
    with pytest.raises(NotRegularFile):
        durable.write_file(fifo, b"\xff\xd8 a photo")
    assert still_a_fifo(fifo) and [p.name for p in fifo.parent.iterdir()] == ["pipe"]  # no temp file left


def test_records_add_refuses_a_fifo_as_photo_or_original(station_cfg: Path, fifo: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    photo = station_cfg.parent / "p.jpg"
    photo.write_bytes(jpeg_bytes(3))
    base = ["records", "add", "--config", str(station_cfg), "--batch", "1S95KT", "--codeless", "--phone",
            "13800138000", "--id-last4", "1234"]
    assert main([*base, "--photo", str(fifo)]) == 2
    assert "not a regular file" in capsys.readouterr().err
    assert main([*base, "--photo", str(photo), "--original", str(fifo)]) == 2
    assert "不是普通文件" in capsys.readouterr().err


def test_scan_reports_a_fifo_instead_of_hanging(fifo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["scan", str(fifo)]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["error"]["key"] == "file.not_regular"


def test_portrait_never_replaces_a_special_file(tmp_path: Path, fifo: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    image = tmp_path / "in.jpg"
    image.write_bytes(jpeg_bytes(30))
    for option in ("-o", "--original"):
        assert main(["portrait", str(image), option, str(fifo)]) == 2
        assert "not a regular file" in capsys.readouterr().err
        assert still_a_fifo(fifo)
    assert main(["portrait", str(image), "-o", "/dev/null"]) == 2
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    assert main(["portrait", str(fifo)]) == 2  # as input
    assert "not a regular file" in capsys.readouterr().err


def test_config_files_and_outputs(tmp_path: Path, fifo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(fifo)]) == 2
    assert "not a regular file" in capsys.readouterr().err
    assert main(["records", "list", "--config", str(fifo)]) == 2
    assert main(["config", "defaults", "--out", str(fifo)]) == 2
    assert still_a_fifo(fifo)
    assert main(["config", "defaults", "--out", str(tmp_path / "new.toml")]) == 0


def test_codes_and_keys(tmp_path: Path, fifo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "keys.json"
    KeyRing.generate(keys)
    assert main(["codes", "issue", "--batch", "1S95KT", "--students", str(fifo), "--keys", str(keys),
                 "--out", str(tmp_path / "out")]) == 2
    assert main(["codes", "keygen", "--out", str(fifo)]) == 2
    assert main(["scan", str(tmp_path / "nothing.png"), "--keys", str(fifo)]) == 1
    assert still_a_fifo(fifo)


def test_server_token_is_not_issued_into_a_fifo(tmp_path: Path, fifo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "server.toml"
    cfg.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\nadmin_token_file = "{tmp_path / "admin.token"}"\n')
    assert main(["server", "--config", str(cfg), "token", "issue", "--station", "s-1", "--out", str(fifo)]) == 2
    assert "not a regular file" in capsys.readouterr().err
    assert main(["server", "--config", str(cfg), "batch", "add", str(fifo)]) == 2
