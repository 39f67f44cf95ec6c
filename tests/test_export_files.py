"""Export naming, manifest and folder rules (the pure half of ``kiosk server export``)."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.server.export import (
    COLUMNS,
    ExportError,
    ExportRow,
    check_out_dir,
    manifest_csv,
    plan,
    safe_stem,
    write_export,
)

ZONE = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


def row(n: int, *, uid: str | None = None, number: str | None = None, minutes: int = 0,
        photo: bytes | None = None) -> ExportRow:
    data = photo if photo is not None else f"photo-{n}-{minutes}".encode()
    return ExportRow(record_id=f"{n:08x}-0000-4000-8000-{minutes:012d}", student_uid=uid if uid is not None
                     else f"uid{n}", student_number=number if number is not None else f"2026{n:04d}",
                     masked_name="张*", school="示例大学", level="本科", captured_at=T0 + timedelta(minutes=minutes),
                     station_id="station-01", reviewer="alice", photo_sha256=hashlib.sha256(data).hexdigest())


def test_files_are_named_by_the_rule() -> None:
    rows = [row(1), row(2)]
    assert [p.name for p in plan(rows, "student_number")] == ["20260001.jpg", "20260002.jpg"]
    assert [p.name for p in plan(rows, "student_uid")] == ["uid1.jpg", "uid2.jpg"]


def test_one_file_per_student_the_latest_capture() -> None:
    old, new = row(1, minutes=0), row(1, minutes=30)
    files = plan([new, old], "student_number")
    assert len(files) == 1
    assert files[0].row is new


def test_a_shared_name_gets_the_short_id_and_no_name_is_used_twice() -> None:
    a, b = row(1, number="X"), row(2, number="X")
    names = [p.name for p in plan([a, b], "student_number")]
    assert len(set(names)) == 2
    assert all(n.startswith("X-") for n in names)


def test_the_same_photo_is_exported_once() -> None:
    same = b"same bytes"
    files = plan([row(1, photo=same), row(2, photo=same)], "student_uid")
    assert len(files) == 1


def test_an_empty_or_unsafe_field_falls_back() -> None:
    files = plan([row(1, number=""), row(2, number="../../etc/passwd")], "student_number")
    names = sorted(p.name for p in files)
    assert names == ["etc_passwd.jpg", "uid1.jpg"]
    assert safe_stem("  ..  ") == ""


def test_unknown_rule_is_refused() -> None:
    with pytest.raises(ValueError):
        plan([row(1)], "name")


def test_manifest_is_utf8_with_bom_and_the_columns() -> None:
    files = plan([row(1)], "student_number")
    data = manifest_csv(files, ZONE)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(lines[0]) == COLUMNS
    assert lines[1][:5] == ["20260001.jpg", "20260001", "张*", "示例大学", "本科"]
    assert lines[1][5] == "2026-06-01T09:00:00+08:00"
    assert lines[1][8] == files[0].row.photo_sha256


def test_write_export_checks_every_photo_and_refuses_a_full_folder(tmp_path: Path) -> None:
    photos = {hashlib.sha256(b"one").hexdigest(): b"one", hashlib.sha256(b"two").hexdigest(): b"two"}
    files = plan([row(1, photo=b"one"), row(2, photo=b"two")], "student_number")
    out = tmp_path / "out"
    write_export(out, "1S95KT", files, {"queued": 2}, photos.__getitem__, zone=ZONE)
    for item in files:
        assert hashlib.sha256((out / item.name).read_bytes()).hexdigest() == item.row.photo_sha256
    assert "2" in (out / "summary.txt").read_text("utf-8")
    with pytest.raises(ExportError) as err:
        write_export(out, "1S95KT", files, {}, photos.__getitem__, zone=ZONE)
    assert err.value.key == "student.export.not_empty"


def test_a_damaged_photo_stops_the_export_and_leaves_nothing(tmp_path: Path) -> None:
    files = plan([row(1, photo=b"one")], "student_number")
    out = tmp_path / "out"
    with pytest.raises(ExportError) as err:
        write_export(out, "1S95KT", files, {}, lambda sha: b"not the bytes", zone=ZONE)
    assert err.value.key == "student.export.photo_missing"
    assert not out.exists()
    existing = tmp_path / "empty"
    existing.mkdir()
    with pytest.raises(ExportError):
        write_export(existing, "1S95KT", files, {}, lambda sha: b"", zone=ZONE)
    assert existing.exists() and not any(existing.iterdir())


def test_zip_holds_the_photos_manifest_and_summary(tmp_path: Path) -> None:
    files = plan([row(1, photo=b"one")], "student_number")
    target = write_export(tmp_path / "z", "1S95KT", files, {}, lambda sha: b"one", zone=ZONE, as_zip=True)
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == ["20260001.jpg", "manifest.csv", "summary.txt"]
        assert archive.read("20260001.jpg") == b"one"


def test_check_out_dir_accepts_new_or_empty(tmp_path: Path) -> None:
    check_out_dir(tmp_path / "new")
    check_out_dir(tmp_path)
    (tmp_path / "x").write_text("x")
    with pytest.raises(ExportError):
        check_out_dir(tmp_path)
