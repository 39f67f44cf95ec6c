"""A damaged station database is never recreated silently; ``kiosk records recover`` rebuilds the records."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from store_damage_helpers import damage
from test_sync_fakes import jpeg_bytes

from kiosk import doctor, flow
from kiosk.cli import main
from kiosk.config import load_station
from kiosk.station.records import Links, save_record
from kiosk.store import DatabaseDamaged, NewRecord, Store
from kiosk.store.damage import MARKER, diagnose
from kiosk.store.recovery import FROM_CARD, FROM_ROW, PHOTO_ONLY
from tests.flow_fakes import CODE, PHOTO, batch

PHONES = ("13800138001", "13800138002")


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[station]\nid = "st-9"\ndata_dir = "{tmp_path / "data"}"\n'
                    f'[codes]\nkey_file = "{tmp_path / "keys.json"}"\n[logging]\nlevel = "ERROR"\n')
    return path


def queue_three(cfg: Path) -> None:
    """Three offline records, as in the report: two codeless ones and one with a code."""
    for seed, phone in enumerate(PHONES):
        photo = cfg.parent / f"p{seed}.jpg"
        photo.write_bytes(jpeg_bytes(3, seed=seed))
        assert main(["records", "add", "--config", str(cfg), "--batch", "1S95KT", "--photo", str(photo),
                     "--codeless", "--phone", phone, "--id-last4", "123X"]) == 0
    photo = cfg.parent / "p9.jpg"
    photo.write_bytes(jpeg_bytes(3, seed=9))
    assert main(["records", "add", "--config", str(cfg), "--batch", "1S95KT", "--photo", str(photo),
                 "--code-payload", "KC1.some-code", "--id-last4", "4567"]) == 0


def data(cfg: Path) -> Path:
    return cfg.parent / "data"


def listed(cfg: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict]:  # type: ignore[type-arg]
    capsys.readouterr()
    assert main(["records", "list", "--config", str(cfg), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)["records"]  # type: ignore[no-any-return]


def test_a_truncated_database_stops_everything_and_recovery_rebuilds_the_queue(
        cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    queue_three(cfg)
    db = data(cfg) / "kiosk.db"
    db.write_bytes(b"")  # the report's reproduction: truncated to zero bytes
    photos_before = sorted(p.name for p in (data(cfg) / "photos").iterdir())
    capsys.readouterr()

    assert main(["records", "list", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "The station's database is damaged" in err and "站点数据库已损坏" in err
    assert "kiosk records recover" in err and "No records" not in err
    assert db.stat().st_size == 0  # left as it was: not recreated
    assert sorted(p.name for p in (data(cfg) / "photos").iterdir()) == photos_before  # nothing quarantined
    with pytest.raises(DatabaseDamaged):
        Store.open(data(cfg))

    (finding,) = doctor.check_database(load_station(cfg), doctor.Probes())
    assert (finding.severity, finding.message_key) == ("fatal", "doctor.database.damaged")
    assert "empty" in finding.message("en") and "kiosk records recover" in finding.message("en")

    assert main(["records", "recover", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "3 from their record cards" in out and "release-recovered" in out
    (kept,) = (data(cfg) / "damaged").iterdir()
    assert (kept / "kiosk.db").stat().st_size == 0  # the damaged file, kept as it was

    recs = listed(cfg, capsys, "--state", "dead")
    assert len(recs) == 3 and {r["dead_reason"] for r in recs} == {FROM_CARD}
    with Store.open(data(cfg)) as store:
        rebuilt = [store.get(r["id"]) for r in recs]
        assert sorted(r.phone for r in rebuilt if r and r.codeless) == sorted(PHONES)
        assert all(r and r.ticket for r in rebuilt if r and r.codeless)
        assert [r.code_payload for r in rebuilt if r and not r.codeless] == ["KC1.some-code"]
        assert all(r and r.id_last4 for r in rebuilt)
        assert store.events(recs[0]["id"])[0]["kind"] == "recovered"
    assert doctor.check_database(load_station(cfg), doctor.Probes())[0].severity == "ok"

    assert main(["records", "release-recovered", "--config", str(cfg)]) == 0
    assert {r["sync_state"] for r in listed(cfg, capsys)} == {"pending"}
    assert main(["records", "recover", "--config", str(cfg)]) == 0
    assert "nothing to recover" in capsys.readouterr().out


def test_rows_the_damaged_database_still_holds_are_salvaged(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    queue_three(cfg)
    damage(data(cfg), "row")  # the cards gone, the last page (an index) cut off
    assert diagnose(data(cfg)).kind == "truncated"  # type: ignore[union-attr]
    assert main(["records", "recover", "--config", str(cfg)]) == 0
    recs = listed(cfg, capsys, "--state", "dead")
    assert len(recs) == 3 and {r["dead_reason"] for r in recs} == {FROM_ROW}


def test_a_photo_without_row_or_card_is_kept_as_a_record_for_the_operator(
        cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    queue_three(cfg)
    (data(cfg) / "kiosk.db").write_bytes(b"<html>not a database</html>" * 200)
    victim = sorted((data(cfg) / "photos").glob("*.json"))[0]
    victim.unlink()
    assert main(["records", "recover", "--config", str(cfg)]) == 0
    recs = listed(cfg, capsys, "--state", "dead")
    reasons = sorted(r["dead_reason"] for r in recs)
    assert reasons == sorted([FROM_CARD, FROM_CARD, PHOTO_ONLY])
    assert main(["records", "release-recovered", "--config", str(cfg)]) == 0
    states = {r["id"]: r["sync_state"] for r in listed(cfg, capsys)}
    assert states[victim.stem] == "dead" and sorted(states.values()) == ["dead", "pending", "pending"]


@pytest.mark.parametrize("damage", ["deleted", "garbage", "half", "blank"])
def test_every_kind_of_damage_refuses_to_open(tmp_path: Path, damage: str) -> None:
    with Store.open(tmp_path) as store:
        store.add_record(NewRecord(batch="1S95KT", station_id="st-1", code_payload="KC1.x"), jpeg_bytes(2))
    db = tmp_path / "kiosk.db"
    raw = db.read_bytes()
    if damage == "deleted":
        db.unlink()
    elif damage == "garbage":
        db.write_bytes(bytes(range(256)) * 40)
    elif damage == "half":
        db.write_bytes(raw[: len(raw) // 2])
    else:
        db.unlink()
        sqlite3.connect(db).close()  # a blank SQLite database in its place
        db.write_bytes(b"")
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE x (y)")
        conn.commit()
        conn.close()
    with pytest.raises(DatabaseDamaged) as info:
        Store.open(tmp_path)
    assert "database is damaged" in info.value.message("en")
    if damage == "deleted":
        assert not db.exists()  # not recreated


def test_a_new_folder_opens_and_gets_its_marker(tmp_path: Path) -> None:
    assert diagnose(tmp_path) is None
    (tmp_path / "kiosk.db").write_bytes(b"")  # a first start that stopped right after creating the file
    Store.open(tmp_path).close()
    assert (tmp_path / MARKER).exists() and (tmp_path / "kiosk.db").stat().st_size > 0
    assert diagnose(tmp_path) is None
    Store.open(tmp_path).close()


def test_a_database_damaged_while_the_station_runs_says_so(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    student = flow.Student(code=CODE, id_last4="1234")  # type: ignore[arg-type]
    assert isinstance(save_record(store, "st-1", batch(), student, PHOTO, keep_original=False, links=Links()),
                      flow.Saved)
    (tmp_path / "kiosk.db").write_bytes(b"")  # under the running station, which SQLite alone would not notice
    event = save_record(store, "st-1", batch(), student, PHOTO, keep_original=False, links=Links())
    assert event == flow.SaveFailed("flow.error.database_damaged")
    assert len(list(store.photos_dir.glob("*.jpg"))) == 1  # nothing more was written
    store.close()


def test_sqlite_reporting_a_malformed_file_is_a_damaged_database(tmp_path: Path) -> None:
    from kiosk.store.errors import db_error

    err = db_error(sqlite3.DatabaseError("database disk image is malformed"), "read")
    assert isinstance(err, DatabaseDamaged) and "damaged" in err.message("en")
