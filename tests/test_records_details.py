"""``kiosk records add --details-from``: personal data from standard input or a file, not the command line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_sync_fakes import jpeg_bytes

from kiosk.cli import main
from kiosk.store import Store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[station]\ndata_dir = "{tmp_path / "data"}"\n[codes]\nkey_file = "{tmp_path / "keys.json"}"\n'
                    '[logging]\nlevel = "ERROR"\n')
    (tmp_path / "p.jpg").write_bytes(jpeg_bytes(3))
    return path


def add(cfg: Path, *extra: str) -> int:
    return main(["records", "add", "--config", str(cfg), "--batch", "1S95KT", "--photo", str(cfg.parent / "p.jpg"),
                 *extra])


def only_record(cfg: Path):  # type: ignore[no-untyped-def]
    with Store.open(cfg.parent / "data") as store:
        (rec,) = store.records()
        return rec


def test_details_from_standard_input_never_reach_the_command_line(cfg: Path) -> None:
    argv = [sys.executable, "-m", "kiosk", "records", "add", "--config", str(cfg), "--batch", "1S95KT",
            "--photo", str(cfg.parent / "p.jpg"), "--codeless", "--details-from", "-"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(argv, input="phone=13800138000\nid_last4=123x\nname=张三\n".encode(), env=env,
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert not any("13800138000" in a or "123" in a for a in argv)
    rec = only_record(cfg)
    assert (rec.phone, rec.id_last4, rec.name, rec.codeless) == ("13800138000", "123X", "张三", True)


def test_details_from_a_json_file_with_the_code(cfg: Path) -> None:
    details = cfg.parent / "details.json"
    details.write_text(json.dumps({"code_payload": "KC1.some-code", "id_last4": "4567"}))
    assert add(cfg, "--details-from", str(details)) == 0
    rec = only_record(cfg)
    assert (rec.code_payload, rec.id_last4, rec.codeless) == ("KC1.some-code", "4567", False)


def test_details_from_key_value_lines_on_stdin_in_process(cfg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "# from the handheld's form\nphone = 13800138000\n\nid-last4=1234\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert add(cfg, "--codeless", "--details-from", "-") == 0
    assert only_record(cfg).phone == "13800138000"


@pytest.mark.parametrize(("content", "extra", "fragment"), [
    ("phone=13800138000\nshoe_size=42\n", (), "Unknown key shoe_size"),
    ("phone=13800138000\nid_last4=1234\n", ("--phone", "13900139000"), "phone is given twice"),
    ("phone=1\nphone=2\n", (), "phone is given twice"),
    ("13800138000\n", (), "Line 1"),
    ('{"phone": 13800138000, "id_last4": "1234"}', (), "phone in the details should be text"),
    ("id_last4=1234\n", ("--no-codeless",), "either the collection code"),
])
def test_bad_details_are_refused_with_a_message(cfg: Path, content: str, extra: tuple[str, ...], fragment: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    details = cfg.parent / "details.txt"
    details.write_text(content)
    how = [] if "--no-codeless" in extra else ["--codeless"]
    rest = [e for e in extra if e != "--no-codeless"]
    assert add(cfg, *how, *rest, "--details-from", str(details)) == 2
    assert fragment in capsys.readouterr().err


def test_the_help_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["records", "add", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--details-from FILE|-" in out and "visible to every user" in out
    assert "--details-from" in (ROOT / "README.md").read_text("utf-8")
