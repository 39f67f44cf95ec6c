"""``kiosk records add|list`` and ``kiosk sync`` on the command line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_sync_fakes import FakeServer, jpeg_bytes, write_token

from kiosk.batch import Batch
from kiosk.cli import main
from kiosk.codes import KeyRing, demo_codes
from kiosk.store import Store

BATCH = Batch(feature_code="1S95KT", school_code="10001", school_name="示例大学", start_date="2026-06-01",
              end_date="2026-06-02")


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_bytes(30))
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[station]\nid = "st-9"\ndata_dir = "{tmp_path / "data"}"\n'
                   f'[codes]\nkey_file = "{tmp_path / "keys.json"}"\n[logging]\nlevel = "ERROR"\n')
    return cfg, photo


def records(cfg: Path, capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    capsys.readouterr()
    assert main(["records", "list", "--config", str(cfg), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_add_codeless_issues_a_ticket(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    cfg, photo = setup
    assert main(["records", "add", "--config", str(cfg), "--batch", "1s95kt", "--photo", str(photo),
                 "--codeless", "--phone", "13800138000", "--id-last4", "123x"]) == 0
    out = capsys.readouterr().out
    assert "Claim ticket" in out and "认领码" in out
    listed = records(cfg, capsys)
    (rec,) = listed["records"]
    assert rec["codeless"] and rec["sync_state"] == "pending" and rec["batch"] == "1S95KT"
    assert rec["ticket"] and rec["ticket"][:4] in out.replace("-", "")
    assert listed["stats"]["captured"] == 1 and listed["stats"]["queued"] == 1
    with Store.open(cfg.parent / "data") as s:
        stored = s.get(rec["id"])
        assert stored is not None and stored.station_id == "st-9" and stored.id_last4 == "123X"
        assert stored.photo_path.read_bytes() == photo.read_bytes()


def test_add_with_a_code_parses_it_when_keys_are_there(setup: tuple[Path, Path],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    cfg, photo = setup
    student = demo_codes(KeyRing.generate(cfg.parent / "keys.json"), BATCH, n=1)[0]
    assert main(["records", "add", "--config", str(cfg), "--batch", "1S95KT", "--photo", str(photo),
                 "--code-payload", student.payload]) == 0
    (rec,) = records(cfg, capsys)["records"]
    with Store.open(cfg.parent / "data") as s:
        stored = s.get(rec["id"])
        assert stored is not None and stored.code_payload == student.payload
        assert stored.code_fields is not None and stored.code_fields["masked_name"] == student.masked_name
        assert stored.student_uid and stored.id_last4


def test_a_bad_code_is_refused_with_the_codes_message(setup: tuple[Path, Path],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    cfg, photo = setup
    KeyRing.generate(cfg.parent / "keys.json")
    assert main(["records", "add", "--config", str(cfg), "--batch", "1S95KT", "--photo", str(photo),
                 "--code-payload", "hello world"]) == 2
    assert " / " in capsys.readouterr().err  # the bilingual message, no traceback
    assert records(cfg, capsys)["records"] == []


def test_without_keys_the_code_is_stored_as_given(setup: tuple[Path, Path],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    cfg, photo = setup
    assert main(["records", "add", "--config", str(cfg), "--batch", "1S95KT", "--photo", str(photo),
                 "--code-payload", "KC1.opaque-payload"]) == 0
    assert "not available" in capsys.readouterr().out
    (rec,) = records(cfg, capsys)["records"]
    assert rec["has_code"]
    with Store.open(cfg.parent / "data") as s:
        stored = s.get(rec["id"])
        assert stored is not None and stored.code_payload == "KC1.opaque-payload" and stored.code_fields is None


@pytest.mark.parametrize(("extra", "fragment"), [
    (["--codeless", "--phone", "13800138000"], "--id-last4"),
    (["--codeless", "--phone", "call me", "--id-last4", "1234"], "phone number is not valid"),
    (["--codeless", "--phone", "13800138000", "--id-last4", "12"], "last four"),
])
def test_bad_codeless_input_is_refused(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str],
                                       extra: list[str], fragment: str) -> None:
    cfg, photo = setup
    assert main(["records", "add", "--config", str(cfg), "--batch", "1S95KT", "--photo", str(photo), *extra]) == 2
    assert fragment in capsys.readouterr().err
    assert records(cfg, capsys)["records"] == []


def test_bad_photo_files_are_refused(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    cfg, _ = setup
    for photo, fragment in [(cfg, "not a whole, valid JPEG"), (cfg.parent / "absent.jpg", "Cannot read the photo")]:
        assert main(["records", "add", "--config", str(cfg), "--batch", "1S95KT", "--photo", str(photo),
                     "--codeless", "--phone", "13800138000", "--id-last4", "1234"]) == 2
        assert fragment in capsys.readouterr().err
    assert records(cfg, capsys)["records"] == []


def test_list_as_a_table(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    cfg, photo = setup
    assert main(["records", "list", "--config", str(cfg)]) == 0
    assert "No records" in capsys.readouterr().out
    main(["records", "add", "--config", str(cfg), "--batch", "1S95KT", "--photo", str(photo),
          "--codeless", "--phone", "13800138000", "--id-last4", "1234"])
    capsys.readouterr()
    assert main(["records", "list", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "codeless" in out and "pending" in out and "13800138000" not in out  # no personal data


def test_sync_once_uploads_the_queue(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    cfg, photo = setup
    main(["records", "add", "--config", str(cfg), "--batch", "1S95KT", "--photo", str(photo),
          "--codeless", "--phone", "13800138000", "--id-last4", "1234"])
    with FakeServer() as server:
        token = write_token(cfg.parent)
        cfg.write_text(cfg.read_text() + f'[sync]\nserver_url = "{server.base_url}"\ntoken_file = "{token}"\n')
        capsys.readouterr()
        assert main(["sync", "--config", str(cfg), "--once"]) == 0
        assert "1 sent" in capsys.readouterr().out
        assert len(server.records) == 1
        os.chmod(token, 0o644)
        assert main(["sync", "--config", str(cfg), "--once"]) == 2
        assert "chmod 600" in capsys.readouterr().err
        server.token = "revoked"
        os.chmod(token, 0o600)
        main(["records", "add", "--config", str(cfg), "--batch", "1S95KT", "--photo", str(photo),
              "--codeless", "--phone", "13800138000", "--id-last4", "1234"])
        capsys.readouterr()
        assert main(["sync", "--config", str(cfg), "--once"]) == 1  # paused: the operator must act
        assert "paused" in capsys.readouterr().out


def test_sync_without_a_server_says_so(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    cfg, _ = setup
    assert main(["sync", "--config", str(cfg), "--once"]) == 2
    assert "server_url" in capsys.readouterr().err


def test_a_name_that_is_not_text_is_refused_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # bytes that are not UTF-8 on the command line reach Python as lone surrogates
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[station]\ndata_dir = "{tmp_path / "data"}"\n', "utf-8")
    photo = tmp_path / "p.jpg"
    photo.write_bytes(jpeg_bytes(2))
    name = os.fsdecode(b"\xff\xfe")
    assert main(["records", "add", "--config", str(cfg), "--batch", "1S95KT", "--photo", str(photo), "--codeless",
                 "--phone", "13800138000", "--id-last4", "1234", "--name", name]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert [p for p in (tmp_path / "data" / "photos").iterdir()] == []  # nothing half-stored
