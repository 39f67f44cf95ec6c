"""A record the collection server would refuse is never queued: the station checks it with the server's rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_sync_fakes import jpeg_bytes

from kiosk.batch import Batch, BatchError
from kiosk.cli import main
from kiosk.codes import KeyRing, demo_codes
from kiosk.store import NewRecord, RecordRefused, Store
from kiosk.store.admission import MAX_PHOTO_BYTES, check_jpeg
from kiosk.sync.batchcache import batch_from_wire

BATCH = Batch(feature_code="1S95KT", school_code="10001", school_name="示例大学", start_date="2026-06-01",
              end_date="2026-06-02")
PHOTO = jpeg_bytes(4)


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[station]\nid = "st-9"\ndata_dir = "{tmp_path / "data"}"\n'
                    f'[codes]\nkey_file = "{tmp_path / "keys.json"}"\n[logging]\nlevel = "ERROR"\n')
    return path


def add(cfg: Path, photo: bytes, *extra: str) -> int:
    path = cfg.parent / "in.jpg"
    path.write_bytes(photo)
    return main(["records", "add", "--config", str(cfg), "--batch", "1S95KT", "--photo", str(path), *extra])


def nothing_stored(cfg: Path) -> bool:
    data = cfg.parent / "data"
    photos = list((data / "photos").iterdir()) if (data / "photos").exists() else []
    with Store.open(data) as store:
        return store.records() == [] and photos == []


CODELESS = ("--codeless", "--phone", "13800138000", "--id-last4", "1234")


def test_a_photo_over_the_servers_limit_is_refused(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = PHOTO + bytes(5_000_000)  # decodes (the tail is ignored) but is 5 MB
    assert add(cfg, big, *CODELESS) == 2
    err = capsys.readouterr().err
    assert "too large" in err and "过大" in err and f"{MAX_PHOTO_BYTES // 1000} KB" in err
    assert nothing_stored(cfg)


@pytest.mark.parametrize("photo", [
    b"\xff\xd8\xff\xe0<html><script>alert(1)</script></html>",  # JPEG magic, HTML body
    PHOTO[: len(PHOTO) // 2],  # cut short
    b"",
    b"GIF89a" + bytes(100),
    PHOTO + b"<html><script>alert(1)</script></html>",  # a whole JPEG with a page after its end (the server refuses)
], ids=["html", "truncated", "empty", "gif", "data-after-end"])
def test_a_file_that_does_not_decode_as_a_jpeg_is_refused(cfg: Path, photo: bytes,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert add(cfg, photo, *CODELESS) == 2
    err = capsys.readouterr().err
    assert "not a whole, valid JPEG" in err and "Traceback" not in err
    assert nothing_stored(cfg)


def test_a_broken_original_is_refused_too(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = cfg.parent / "orig.jpg"
    original.write_bytes(b"\xff\xd8\xff" + b"x" * 500)
    assert add(cfg, PHOTO, *CODELESS, "--original", str(original)) == 2
    assert "original" in capsys.readouterr().err
    assert nothing_stored(cfg)


def test_a_name_longer_than_the_server_keeps_is_refused(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert add(cfg, PHOTO, *CODELESS, "--name", "x" * 10_000) == 2
    err = capsys.readouterr().err
    assert "name" in err and "64" in err and "Queued" not in err
    assert nothing_stored(cfg)


def test_a_long_code_payload_is_refused(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert add(cfg, PHOTO, "--code-payload", "K" * 5000, "--id-last4", "1234") == 2
    assert "code_payload" in capsys.readouterr().err
    assert nothing_stored(cfg)


def test_last_four_that_differ_from_the_codes_are_refused(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    student = demo_codes(KeyRing.generate(cfg.parent / "keys.json"), BATCH, n=1)[0]
    code_tail = student.last_four
    wrong = "0000" if code_tail != "0000" else "1111"
    assert add(cfg, PHOTO, "--code-payload", student.payload, "--id-last4", wrong) == 2
    assert "do not match" in capsys.readouterr().err
    assert nothing_stored(cfg)
    assert add(cfg, PHOTO, "--code-payload", student.payload, "--id-last4", code_tail) == 0


def test_the_station_capture_path_is_checked_in_the_store(tmp_path: Path) -> None:
    # the touch screen saves through Store.add_record too: the same rules hold there
    with Store.open(tmp_path) as store:
        with pytest.raises(RecordRefused) as info:
            store.add_record(NewRecord(batch="1S95KT", station_id="s" * 65, code_payload="KC1.x"), PHOTO)
        assert info.value.key == "store.refused.too_long" and info.value.params["field"] == "station_id"
        with pytest.raises(RecordRefused):
            store.add_record(NewRecord(batch="1S95KT", station_id="st-1"), PHOTO)  # neither code nor ticket
        assert store.records() == [] and list(store.photos_dir.iterdir()) == []
        rec = store.add_record(NewRecord(batch="1S95KT", station_id="st-1", code_payload="KC1.x"), PHOTO)
        assert rec.photo_bytes == len(PHOTO)


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5: sof + 9] = (60000).to_bytes(2, "big") + (60000).to_bytes(2, "big")  # claim 3.6 gigapixels
    with pytest.raises(RecordRefused):
        check_jpeg(bytes(data), "photo")


def test_a_batch_the_server_would_refuse_is_refused_on_the_station() -> None:
    good = BATCH.to_json()
    assert batch_from_wire(good) == BATCH
    for bad in ({**good, "school_name": "x" * 10_000}, {**good, "methods": ["carrier-pigeon"]},
                {**good, "end_date": "2026-05-01"}, {**good, "feature_code": 12}, "not a batch"):
        with pytest.raises(BatchError):
            batch_from_wire(bad)


def test_the_schema_module_needs_pydantic_only() -> None:
    # the station imports the server's models: they must not pull in the web framework
    code = ("import sys, kiosk.server.schema, kiosk.store, kiosk.sync.batchcache; "
            "bad = [m for m in ('fastapi', 'starlette', 'uvicorn') if m in sys.modules]; print(bad); "
            "sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
