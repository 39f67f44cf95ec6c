"""``kiosk codes`` and ``kiosk scan`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import qr_frames as qf

from kiosk.batch import Batch
from kiosk.cli import main
from kiosk.cli.codes import prepare_demo
from kiosk.codes import KeyRing
from kiosk.tickets import display, new_ticket, ticket_qr_png

STUDENTS = """student_number,name,id_number,level
2023001,张三丰,11010519990101123x,本科
2023002,Li Na,A123456（３）,硕士
2023003,王芳,110105199901010018,
"""


@pytest.fixture
def issued(tmp_path: Path) -> tuple[Path, Path]:
    keys = tmp_path / "keys.json"
    assert main(["codes", "keygen", "--out", str(keys)]) == 0
    csv = tmp_path / "students.csv"
    csv.write_text("\ufeff" + STUDENTS, "utf-8")  # spreadsheets write a BOM
    out = tmp_path / "codes"
    assert main(["codes", "issue", "--batch", "1s95kt", "--students", str(csv), "--out", str(out),
                 "--keys", str(keys), "--school-code", "10001", "--school-name", "北京大学"]) == 0
    return keys, out


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def test_keygen_writes_an_owner_only_file_and_rotates(tmp_path: Path, capsys) -> None:
    keys = tmp_path / "keys.json"
    assert main(["codes", "keygen", "--out", str(keys)]) == 0
    assert (keys.stat().st_mode & 0o777) == 0o600
    first = KeyRing.load(keys)
    assert main(["codes", "keygen", "--out", str(keys)]) == 2  # never overwrites a key file
    assert "already exists" in capsys.readouterr().err
    assert main(["codes", "keygen", "--out", str(keys), "--rotate"]) == 0
    rotated = KeyRing.load(keys)
    assert rotated.current != first.current and first.current in rotated.keys
    assert (keys.stat().st_mode & 0o777) == 0o600


def test_issue_writes_pngs_and_a_manifest(issued: tuple[Path, Path]) -> None:
    _, out = issued
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["batch"] == "1S95KT"
    codes = manifest["codes"]
    assert [c["last_four"] for c in codes] == ["123X", "6(3)", "0018"]
    assert [c["masked_name"] for c in codes] == ["张*丰", "L***a", "王*"]
    assert codes[0]["masked_id"] == "**************123X"
    assert codes[2]["level"] == "本科"
    text = (out / "manifest.json").read_text("utf-8")
    assert "张三丰" not in text and "11010519990101" not in text  # real names and IDs never leave the CSV
    for c in codes:
        assert (out / c["file"]).read_bytes().startswith(b"\x89PNG")


def test_scan_prints_one_json_line_per_image(issued: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    keys, out = issued
    not_image = tmp_path / "notes.png"
    not_image.write_text("not really a PNG")
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 300), 255, np.uint8))
    ticket = new_ticket()
    ticket_png = tmp_path / "ticket.png"
    ticket_png.write_bytes(ticket_qr_png(ticket))
    url_png = tmp_path / "url.png"
    url_png.write_bytes(_qr_png("https://example.com/not-a-code"))
    images = [*sorted(out.glob("*.png")), not_image, blank, ticket_png, url_png, tmp_path / "missing.png"]
    capsys.readouterr()
    assert main(["scan", *map(str, images), "--keys", str(keys)]) == 1
    reports = lines(capsys)
    assert [r["image"] for r in reports] == [str(p) for p in images]
    for r in reports[:3]:
        assert r["ok"] and r["kind"] == "code"
        assert r["fields"]["school_name"] == "北京大学"
        assert "*" in r["fields"]["masked_id"]
    assert reports[3]["error"]["key"] == "scan.not_an_image"
    assert reports[4]["error"]["key"] == "scan.no_code"
    assert reports[5]["kind"] == "ticket" and reports[5]["fields"]["ticket"] == display(ticket)
    assert reports[6]["kind"] == "other" and reports[6]["error"]["key"] == "code.not_a_code"
    assert reports[7]["error"]["key"] == "scan.not_an_image"
    assert all(" / " in r["error"]["message"] for r in reports if r["error"])  # Chinese / English


def test_scan_reads_a_camera_frame_and_checks_the_school(issued: tuple[Path, Path], tmp_path: Path,
                                                         capsys) -> None:
    keys, out = issued
    payload = json.loads((out / "manifest.json").read_text("utf-8"))["codes"][0]["payload"]
    frame = qf.make_frame("clean", [payload], rng=np.random.default_rng(2))
    photo = tmp_path / "frame.jpg"
    cv2.imwrite(str(photo), cv2.cvtColor(frame.image, cv2.COLOR_GRAY2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    capsys.readouterr()
    assert main(["scan", str(photo), "--keys", str(keys)]) == 0
    assert lines(capsys)[0]["fields"]["student_number"] == "2023001"
    assert main(["scan", str(photo), "--keys", str(keys), "--school-code", "10003"]) == 1
    assert lines(capsys)[0]["error"]["key"] == "code.wrong_batch"


def test_scan_without_usable_keys_still_shows_the_payload(issued: tuple[Path, Path], capsys) -> None:
    keys, out = issued
    keys.chmod(0o644)
    image = sorted(out.glob("*.png"))[0]
    capsys.readouterr()
    assert main(["scan", str(image), "--keys", str(keys)]) == 1
    report = lines(capsys)[0]
    assert report["payload"].startswith("KC1.")
    assert report["error"]["key"] == "codes.key_file_mode"


@pytest.mark.parametrize(("csv", "fragment"), [
    ("name,id_number\n张三,1234\n", "no student_number column"),
    ("student_number,name,id_number\n,张三,11010519990101123X\n", "line 2"),
    ("student_number,name,id_number\n2023001,张三,12\n", "fewer than 4"),
    ("student_number,name,id_number\n", "no students"),
    # a code the station would refuse is not issued
    ("student_number,name,masked_id\n2023001,张三,********\n", "line 2"),
    ("student_number,name,id_number,school_name\n2023001,张三,1234," + "北" * 201 + "\n", "line 2"),
    ("student_number,name,id_number,school_name,masked_name,level\n2023001,张三,1234," + "北" * 190 + ","
     + "张" * 190 + "," + "本" * 190 + "\n", "line 2"),
    # a field beyond the csv module's limit
    ("student_number,name,id_number\n2023001," + "a" * 200_000 + ",1234\n", "line"),
], ids=["no-number-column", "empty-number", "short-id", "no-students", "no-visible-tail", "long-field",
        "payload-too-long", "huge-field"])
def test_a_bad_student_list_names_the_line(tmp_path: Path, capsys, csv: str, fragment: str) -> None:
    keys = tmp_path / "keys.json"
    KeyRing.generate(keys)
    students = tmp_path / "s.csv"
    students.write_text(csv, "utf-8")
    code = main(["codes", "issue", "--batch", "1S95KT", "--students", str(students), "--out",
                 str(tmp_path / "o"), "--keys", str(keys), "--school-code", "1", "--school-name", "X"])
    assert code == 2
    err = capsys.readouterr().err
    assert fragment in err and "s.csv" in err
    assert "Traceback" not in err
    assert not list((tmp_path / "o").glob("*.png")) if (tmp_path / "o").exists() else True


def test_prepare_demo_makes_keys_once_and_readable_codes(tmp_path: Path) -> None:
    batch = Batch("DEMO01", "10001", "北京大学", "2026-06-01", "2026-06-02")
    ring, key_file, students = prepare_demo(tmp_path / "demo", batch, 3)
    again, _, _ = prepare_demo(tmp_path / "demo", batch, 1)
    assert again == ring and (key_file.stat().st_mode & 0o777) == 0o600
    assert len(students) == 3 and (tmp_path / "demo" / "demo-3.png").exists()


def _qr_png(text: str) -> bytes:
    import io

    import segno

    buf = io.BytesIO()
    segno.make_qr(text).save(buf, kind="png", scale=6)
    return buf.getvalue()


@pytest.mark.parametrize(("width", "height"), [(40_000, 40_000), (12_000, 12_000)])
def test_an_image_claiming_too_many_pixels_is_refused_unread(tmp_path: Path, capsys, monkeypatch,
                                                             width: int, height: int) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(qf.png_claiming(width, height))
    monkeypatch.setattr(cv2, "imdecode", lambda *a: pytest.fail("decoded an image of too many pixels"))
    assert main(["scan", str(bomb), "--keys", str(tmp_path / "none.json")]) == 1
    [report] = lines(capsys)
    assert report["ok"] is False and report["error"]["key"] == "scan.not_an_image"


@pytest.mark.parametrize("scale", ["0", "-3", "100000", "many"])
def test_a_qr_scale_outside_its_range_is_refused(scale: str, capsys) -> None:
    from kiosk.cli import build_parser

    argv = ["codes", "issue", "--batch", "1S95KT", "--students", "s.csv", "--out", "o", "--scale"]
    with pytest.raises(SystemExit) as info:  # 100000 px a module would be a PNG of gigapixels
        build_parser().parse_args([*argv, scale])
    assert info.value.code == 2 and "--scale" in capsys.readouterr().err
    assert build_parser().parse_args([*argv, "12"]).scale == 12


@pytest.mark.parametrize("depth", [np.uint8, np.uint16])
def test_a_code_on_a_transparent_background_is_read(tmp_path: Path, capsys, depth: type) -> None:
    import segno

    # dark modules on transparent pixels whose colour is black too, as many editors save a QR
    ticket = new_ticket()
    modules = np.kron(np.pad(np.array(list(segno.make_qr(display(ticket)).matrix), np.uint8), 4),
                      np.ones((6, 6), np.uint8))
    top = np.iinfo(depth).max
    bgra = np.zeros((*modules.shape, 4), depth)
    bgra[..., 3] = np.where(modules > 0, top, 0)
    path = tmp_path / "transparent.png"
    assert cv2.imwrite(str(path), bgra)
    assert main(["scan", str(path), "--keys", str(tmp_path / "none.json")]) == 0
    [report] = lines(capsys)
    assert report["ok"] and report["kind"] == "ticket" and report["fields"]["ticket"] == display(ticket)
