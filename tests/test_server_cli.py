"""``kiosk server``: maintenance actions and refusing to start on a loose admin token file."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from kiosk.cli import main
from kiosk.config import load_server
from kiosk.server.app import create_app
from kiosk.server.auth import read_admin_token
from kiosk.server.db import Database

ADMIN = "admin-token-for-the-tests"


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "server.toml"
    path.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\nadmin_token_file = "{tmp_path / "admin.token"}"\n',
                    "utf-8")
    return path


def test_tokens_are_issued_to_a_0600_file_and_revoked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    out = tmp_path / "station.token"
    assert main(["server", "--config", str(cfg), "token", "issue", "--station", "station-03", "--out", str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o600
    token = out.read_text().strip()
    app = create_app(load_server(cfg), admin_token=ADMIN, purge_every_s=None)
    with TestClient(app) as client:
        auth = {"Authorization": f"Bearer {token}"}
        assert client.post("/api/v1/records/status", json={"ids": []}, headers=auth).status_code == 200
        assert main(["server", "token", "revoke", "--station", "station-03", "--config", str(cfg)]) == 0
        assert client.post("/api/v1/records/status", json={"ids": []}, headers=auth).status_code == 401
    assert main(["server", "token", "revoke", "--station", "nobody", "--config", str(cfg)]) == 1
    capsys.readouterr()
    assert main(["server", "--config", str(cfg), "token", "issue", "--station", "station-04"]) == 0
    assert len(capsys.readouterr().out.strip()) >= 40  # printed alone, ready for "> station.token"


def test_batches_are_added_from_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    batches = tmp_path / "b.toml"
    batches.write_text('[[batch]]\nfeature_code = "1s95kt"\nschool_code = "10001"\nschool_name = "示例大学"\n'
                       'start_date = "2026-06-01"\nend_date = "2026-06-03"\n', "utf-8")
    assert main(["server", "--config", str(cfg), "batch", "add", str(batches)]) == 0
    assert main(["server", "--config", str(cfg), "batch", "add", str(batches)]) == 0
    assert capsys.readouterr().out.splitlines() == ["1S95KT: created", "1S95KT: replaced"]
    db = Database(tmp_path / "data" / "server.db")
    with db.read() as conn:
        assert conn.execute(text("SELECT feature_code FROM batches")).scalar_one() == "1S95KT"
    batches.write_text('[[batch]]\nfeature_code = "?"\n', "utf-8")
    assert main(["server", "--config", str(cfg), "batch", "add", str(batches)]) == 2
    assert "b.toml" in capsys.readouterr().err


def test_server_refuses_to_start_without_a_0600_admin_token(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    assert main(["server", "--config", str(cfg), "--port", "1"]) == 2
    assert "admin-token --create" in capsys.readouterr().err
    assert main(["server", "--config", str(cfg), "admin-token", "--create"]) == 0
    token_file = tmp_path / "admin.token"
    assert len(read_admin_token(token_file)) >= 40
    token_file.chmod(0o644)
    assert main(["server", "--config", str(cfg), "--port", "1"]) == 2
    assert "chmod 600" in capsys.readouterr().err


def test_an_unusable_data_dir_is_a_message_not_a_traceback(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    (tmp_path / "data").write_text("a file where the data directory should be")
    assert main(["server", "--config", str(cfg), "purge"]) == 2
    err = capsys.readouterr().err
    assert "data directory" in err
    assert "Traceback" not in err


def test_the_data_dir_is_created_private(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    assert main(["server", "--config", str(cfg), "purge", "--dry-run"]) == 0
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700


def test_issuing_a_live_station_id_is_refused_and_keeps_its_token(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    out = tmp_path / "station.token"
    assert main(["server", "--config", str(cfg), "token", "issue", "--station", "station-06", "--out", str(out)]) == 0
    old = out.read_text()
    capsys.readouterr()
    assert main(["server", "--config", str(cfg), "token", "issue", "--station", "station-06", "--out", str(out)]) == 2
    assert "--rotate" in capsys.readouterr().err
    assert out.read_text() == old  # the file was not touched either
    assert main(["server", "--config", str(cfg), "token", "issue", "--station", "station-06", "--rotate",
                 "--out", str(out)]) == 0
    assert out.read_text() != old


def test_an_unwritable_token_file_is_a_message_and_keeps_the_old_token(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    out = tmp_path / "station.token"
    assert main(["server", "--config", str(cfg), "token", "issue", "--station", "station-05", "--out", str(out)]) == 0
    old = out.read_text().strip()
    capsys.readouterr()
    nowhere = tmp_path / "missing-dir" / "station.token"
    assert main(["server", "--config", str(cfg), "token", "issue", "--station", "station-05", "--rotate",
                 "--out", str(nowhere)]) == 2
    err = capsys.readouterr().err
    assert str(nowhere) in err and "Traceback" not in err
    app = create_app(load_server(cfg), admin_token=ADMIN, purge_every_s=None)
    with TestClient(app) as client:  # no token was issued that nobody holds: the station's one still works
        answer = client.post("/api/v1/records/status", json={"ids": []}, headers={"Authorization": f"Bearer {old}"})
        assert answer.status_code == 200


def test_an_admin_token_file_that_cannot_be_created_is_a_message(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "blocked").write_text("a file where a directory should be")
    cfg = tmp_path / "server.toml"
    cfg.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\n'
                   f'admin_token_file = "{tmp_path / "blocked" / "admin.token"}"\n', "utf-8")
    assert main(["server", "--config", str(cfg), "admin-token", "--create"]) == 2
    err = capsys.readouterr().err
    assert "admin.token" in err and "Traceback" not in err
