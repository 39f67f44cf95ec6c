"""``kiosk portrait``: an honest judge of any photo, with exit codes 0, 3 and 2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import qr_frames as qf
from PIL import Image

from kiosk.cli import main
from kiosk.scene import Pose, Scene


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("portrait-cli")
    blue, busy = Scene(960, 540), Scene(960, 540, "busy")
    out = {
        "good": blue.render(Pose(dy=0.08, scale=0.85)),
        "busy": busy.render(Pose(dy=0.08, scale=0.85)),
        "edge": blue.render(Pose(dx=0.4, dy=0.08, scale=0.85)),
        "nobody": blue.render(Pose(present=False)),
        "capped": blue.render(Pose(dy=0.08, scale=0.85, subject="capped")),
    }
    paths = {}
    for name, frame in out.items():
        paths[name] = root / f"{name} 照片.png"  # spaces and CJK in the name, as operators' files have
        ok, data = cv2.imencode(".png", frame)
        assert ok
        paths[name].write_bytes(data.tobytes())
    paths["tiny"] = root / "tiny.png"
    cv2.imwrite(str(paths["tiny"]), np.zeros((120, 90, 3), np.uint8))
    paths["text"] = root / "notes.jpg"
    paths["text"].write_text("not a photo", "utf-8")
    paths["empty"] = root / "empty.jpg"
    paths["empty"].write_bytes(b"")
    return paths


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(["portrait", *argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def test_compliant_photo_exit_0(images: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out" / "photo.jpg"
    original = tmp_path / "original.jpg"
    code, report = run_json(capsys, str(images["good"]), "-o", str(out), "--original", str(original))
    assert code == 0 and report["compliant"] is True and report["reasons"] == []
    for key in ("head_top_px", "eye_line_px", "face_width_px", "bytes", "quality"):
        assert key in report
    assert 50 <= report["head_top_px"] <= 110 and 200 <= report["eye_line_px"] <= 300
    assert 180 <= report["face_width_px"] <= 300 and report["quality"] >= 60
    assert report["bytes"] == out.stat().st_size
    assert Image.open(io.BytesIO(out.read_bytes())).size == (480, 640)
    assert original.stat().st_size > 0
    names = [c["name"] for c in report["checks"]]
    assert "background" in names and all(c["passed"] for c in report["checks"])
    assert all({"name", "passed", "value", "hint"} <= set(c) for c in report["checks"])
    assert not list(out.parent.glob(".portrait-*"))  # no temporary file left


def test_a_photo_it_made_is_judged_compliant_again(images: dict[str, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "first.jpg"
    assert main(["portrait", str(images["good"]), "-o", str(first)]) == 0
    capsys.readouterr()
    code, report = run_json(capsys, str(first), "-o", str(tmp_path / "second.jpg"))
    assert code == 0, report["reasons"]
    assert 50 <= report["head_top_px"] <= 110 and 200 <= report["eye_line_px"] <= 300


def test_a_cap_is_refused_unless_the_operator_allows_headwear(images: dict[str, Path], tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, str(images["capped"]), "-o", str(tmp_path / "capped.jpg"))
    assert code == 3 and report["hint"] == "portrait.hint.headwear"
    assert report["reasons"][0]["key"] == "portrait.hint.headwear" and "免冠" in report["reasons"][0]["zh"]
    assert not (tmp_path / "capped.jpg").exists()
    code, report = run_json(capsys, str(images["capped"]), "--allow-headwear", "-o", str(tmp_path / "capped.jpg"))
    assert code == 0 and report["compliant"] is True
    headwear = next(c for c in report["checks"] if c["name"] == "headwear")
    assert headwear["passed"] and headwear["detail"]["allowed"] is True


@pytest.mark.parametrize(("name", "reason"), [
    ("busy", "portrait.hint.background"),
    ("edge", "portrait.hint.move_centre"),
    ("nobody", "portrait.hint.no_face"),
])
def test_not_compliant_exit_3_with_reasons(images: dict[str, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str], name: str, reason: str) -> None:
    out = tmp_path / "photo.jpg"
    code, report = run_json(capsys, str(images[name]), "-o", str(out))
    assert code == 3 and report["compliant"] is False
    keys = [r["key"] for r in report["reasons"]]
    assert reason in keys
    assert all(r["zh"] and r["en"] and r["zh"] != r["key"] for r in report["reasons"])
    assert not out.exists()  # a photo that fails the standard is not written


@pytest.mark.parametrize(("name", "words"), [("tiny", "too small"), ("text", "Cannot read"),
                                             ("empty", "Cannot read")])
def test_bad_input_exit_2(images: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                          name: str, words: str) -> None:
    code = main(["portrait", str(images[name]), "-o", str(tmp_path / "x.jpg")])
    captured = capsys.readouterr()
    assert code == 2
    assert words in captured.err
    assert "无法读取" in captured.err or "太小" in captured.err  # Chinese first, for the person
    assert not (tmp_path / "x.jpg").exists()


def test_missing_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["portrait", str(tmp_path / "nope.jpg"), "-o", str(tmp_path / "x.jpg")]) == 2
    assert "Cannot read" in capsys.readouterr().err


def test_unwritable_output_exit_2(images: dict[str, Path], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", "utf-8")
    code = main(["portrait", str(images["good"]), "-o", str(blocker / "photo.jpg")])
    assert code == 2
    assert "Cannot write" in capsys.readouterr().err


def test_human_report(images: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["portrait", str(images["edge"])]) == 3
    out = capsys.readouterr().out
    assert "centre" in out and "Please move to the centre" in out and "Not compliant" in out


def test_config_batch_colour_is_used(images: dict[str, Path], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text('[portrait]\nbackground = "white"\n', "utf-8")
    code, report = run_json(capsys, str(images["good"]), "--config", str(config))
    assert code == 3
    assert [r["key"] for r in report["reasons"]] == ["portrait.hint.background_colour"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[portrait]\nbackground = "pink"\n', "utf-8")
    assert main(["portrait", str(images["good"]), "--config", str(bad)]) == 2


def test_background_option_overrides_the_config(images: dict[str, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, str(images["good"]), "--background", "white")
    assert code == 3 and [r["key"] for r in report["reasons"]] == ["portrait.hint.background_colour"]


@pytest.mark.parametrize(("width", "height"), [(40_000, 40_000), (12_000, 12_000)])
def test_an_image_claiming_too_many_pixels_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch, width: int,
                                                       height: int) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(qf.png_claiming(width, height))
    monkeypatch.setattr(cv2, "imdecode", lambda *a: pytest.fail("decoded an image of too many pixels"))
    assert main(["portrait", str(bomb), "-o", str(tmp_path / "x.jpg")]) == 2
    assert "Cannot read" in capsys.readouterr().err
    assert not (tmp_path / "x.jpg").exists()


def test_an_image_too_long_to_analyse_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    strip = tmp_path / "strip.png"
    cv2.imwrite(str(strip), np.full((40_000, 400), 200, np.uint8))  # 16 M pixels: not too many, but too tall
    assert main(["portrait", str(strip), "-o", str(tmp_path / "x.jpg")]) == 2
    err = capsys.readouterr().err
    assert "too large" in err and "Traceback" not in err
