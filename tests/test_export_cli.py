"""``kiosk server export``: confirmed photos byte for byte, the manifest, the summary, and clear refusals."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from student_world import Uploaded, World, make_world

from kiosk.cli import main


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(tmp_path)
    yield w
    w.client.__exit__(None, None, None)


def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "server.toml"
    path.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\nadmin_token_file = "{tmp_path / "admin.token"}"\n',
                    "utf-8")
    return path


def confirmed(world: World, n: int) -> Uploaded:
    up = world.upload(n)
    world.review(up, "approve")
    world.client.post(f"/s/{up.secret}/confirm")
    return up


def test_export_writes_each_confirmed_photo_once_with_its_manifest(world: World, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    first, second = confirmed(world, 1), confirmed(world, 2)
    world.review(world.upload(3), "approve")  # awaiting the student's confirmation
    world.review(world.upload(4), "reject", "模糊")
    world.upload(5)
    out = tmp_path / "handover"
    assert main(["server", "--config", str(config_file(tmp_path)), "export", "--batch", "1s95kt",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2" in printed and "待审核 1" in printed and "待确认 1" in printed and "未通过待重拍 1" in printed
    photos = sorted(p.name for p in out.glob("*.jpg"))
    assert photos == ["2026000001.jpg", "2026000002.jpg"]
    for name, up in zip(photos, (first, second), strict=True):
        data = (out / name).read_bytes()
        assert data == up.photo
    raw = (out / "manifest.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [line["file"] for line in lines] == photos
    assert lines[0]["masked_name"] == "张*伟" and lines[0]["school"] == "示例大学" and lines[0]["level"] == "本科"
    assert lines[0]["reviewer"] == "admin" and lines[0]["station"] == "station-01"
    assert lines[0]["captured_at"] == "2026-06-01T10:00:00+08:00"
    for line in lines:
        assert hashlib.sha256((out / line["file"]).read_bytes()).hexdigest() == line["sha256"]
    assert "awaiting the student's confirmation 1" in (out / "summary.txt").read_text("utf-8")


def test_export_by_uid_into_a_zip(world: World, tmp_path: Path) -> None:
    up = confirmed(world, 1)
    out = tmp_path / "z"
    assert main(["server", "--config", str(config_file(tmp_path)), "export", "--batch", "1S95KT", "--out", str(out),
                 "--zip", "--name-rule", "student_uid"]) == 0
    with zipfile.ZipFile(out / "1S95KT.zip") as archive:
        assert sorted(archive.namelist()) == ["manifest.csv", "summary.txt", "uid-1.jpg"]
        assert archive.read("uid-1.jpg") == up.photo


def test_export_refuses_an_unknown_batch_and_a_full_folder(world: World, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    confirmed(world, 1)
    cfg = str(config_file(tmp_path))
    assert main(["server", "--config", cfg, "export", "--batch", "NOPE99", "--out", str(tmp_path / "a")]) == 2
    assert "没有特征码为 NOPE99 的采集批次" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    assert main(["server", "--config", cfg, "export", "--batch", "1S95KT", "--out", str(full)]) == 2
    assert "不是空的" in capsys.readouterr().err
    assert [p.name for p in full.iterdir()] == ["keep.txt"]


def test_a_damaged_photo_stops_the_export(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    up = confirmed(world, 1)
    path = world.state.photos.path(hashlib.sha256(up.photo).hexdigest())
    path.write_bytes(b"\xff\xd8\xff damaged")
    out = tmp_path / "out"
    assert main(["server", "--config", str(config_file(tmp_path)), "export", "--batch", "1S95KT",
                 "--out", str(out)]) == 2
    assert "照片文件缺失或已损坏" in capsys.readouterr().err
    assert not out.exists()
