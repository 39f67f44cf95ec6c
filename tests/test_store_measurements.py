"""The photo's measurements on the record: stored, carried by the record card and recovery, sent in the upload."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from store_damage_helpers import damage
from store_schema import downgrade
from test_sync_fakes import jpeg_bytes

from kiosk.server.schema import RecordMetadata
from kiosk.store import NewRecord, Store, migrations
from kiosk.store.recovery import recover, release_recovered

JPEG = jpeg_bytes(3)
MEASUREMENTS: dict[str, Any] = {"head_top_px": 72, "eye_line_px": 262, "face_width_px": 221, "tilt_deg": -0.4,
                                "sharpness": 65, "background_rgb": "#64C5FF", "eyes_found": True,
                                "checks_failed": ""}
#: the upload metadata's keys before measurements were kept: an older record sends exactly these
OLDER_KEYS = {"record_id", "batch", "station_id", "captured_at", "monotonic_ns", "boot_id", "codeless", "ticket",
              "code_payload", "code", "id_last4", "phone", "name", "photo_sha256", "photo_bytes", "original_sha256",
              "status_secret", "headwear_allowed"}


def new_record(**extra: Any) -> NewRecord:
    return NewRecord(batch="1S95KT", station_id="st-1", code_payload="KC1.payload-U1",
                     code_fields={"masked_name": "张*", "student_uid": "U1"}, student_uid="U1", id_last4="123X",
                     status_secret="s" * 32, **extra)


def test_the_record_keeps_its_measurements_and_sends_them(tmp_path: Path) -> None:
    with Store.open(tmp_path / "data") as store:
        measured = store.add_record(new_record(measurements=MEASUREMENTS), JPEG)
        plain = store.add_record(new_record(), JPEG)
        empty = store.add_record(new_record(measurements={}), JPEG)
    with Store.open(tmp_path / "data") as store:
        again = store.get(measured.id)
        assert again is not None and again.measurements == MEASUREMENTS
        # the same values in the same order: a replay sends the same text
        assert json.dumps(again.metadata()["measurements"]) == json.dumps(MEASUREMENTS)
        sent = RecordMetadata.model_validate(again.metadata())
        assert sent.measurements is not None and sent.measurements["head_top_px"] == 72
        for record_id in (plain.id, empty.id):
            other = store.get(record_id)
            assert other is not None and other.measurements is None
            # no measurements: the key is left out, as before they were kept
            assert set(other.metadata()) == OLDER_KEYS
            stored = store.conn.execute("SELECT measurements FROM records WHERE id = ?", (record_id,)).fetchone()
            assert stored[0] is None
    card = json.loads((tmp_path / "data" / "photos" / f"{measured.id}.json").read_text("utf-8"))
    assert json.loads(card["measurements"]) == MEASUREMENTS


def test_a_station_database_of_the_older_schema_gains_the_column_empty(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store.open(data) as store:
        record = store.add_record(new_record(), JPEG)
        before = json.dumps(record.metadata(), ensure_ascii=False)
        version = len(migrations.MIGRATIONS)
    # back to the schema before the column: what a station upgraded from the previous release holds
    downgrade(data / Store.DB_NAME, version - 1)
    with Store.open(data) as store:
        assert (store.startup.schema_from, store.startup.schema_to) == (version - 1, version)
        got = store.get(record.id)
        assert got is not None and got.measurements is None
        # byte for byte what the record's upload was before the upgrade
        assert json.dumps(got.metadata(), ensure_ascii=False) == before
        assert set(got.metadata()) == OLDER_KEYS
        # and a capture after the upgrade keeps its measurements
        measured = store.add_record(new_record(measurements=MEASUREMENTS), JPEG)
        assert store.get(measured.id).measurements == MEASUREMENTS  # type: ignore[union-attr]


def test_an_unreadable_measurements_column_reads_as_none(tmp_path: Path) -> None:
    with Store.open(tmp_path / "data") as store:
        record = store.add_record(new_record(measurements=MEASUREMENTS), JPEG)
        with store.write() as conn:
            conn.execute("UPDATE records SET measurements = '[1, 2' WHERE id = ?", (record.id,))
        got = store.get(record.id)
        assert got is not None and got.measurements is None and "measurements" not in got.metadata()


@pytest.mark.parametrize("source", ["card", "row"])
def test_recovery_keeps_the_measurements_a_replay_must_send(tmp_path: Path, source: str) -> None:
    data = tmp_path / "data"
    with Store.open(data) as store:
        measured = store.add_record(new_record(measurements=MEASUREMENTS), JPEG)
        plain = store.add_record(new_record(), JPEG)
        sent = {r.id: r.metadata() for r in (measured, plain)}
    damage(data, source)
    assert recover(data, station_id="st-1") is not None
    with Store.open(data) as store:
        release_recovered(store)
        for record_id, metadata in sent.items():
            rebuilt = store.get(record_id)
            assert rebuilt is not None and rebuilt.sync_state == "pending"
            assert rebuilt.metadata() == metadata


def test_a_record_card_of_an_older_release_recovers_without_measurements(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store.open(data) as store:
        record = store.add_record(new_record(), JPEG)
    card_file = data / "photos" / f"{record.id}.json"
    card = json.loads(card_file.read_text("utf-8"))
    del card["measurements"]  # written before the column existed
    card_file.write_text(json.dumps(card), "utf-8")
    (data / Store.DB_NAME).write_bytes(b"")
    assert recover(data, station_id="st-1") is not None
    with Store.open(data) as store:
        rebuilt = store.get(record.id)
        assert rebuilt is not None and rebuilt.measurements is None and set(rebuilt.metadata()) == OLDER_KEYS


@pytest.mark.parametrize("bad", [
    {f"value_{i}": i for i in range(41)},  # more than the server takes
    {"k" * 65: 1.0},  # a name too long
    {"note": "x" * 65},  # a text too long
    {"sharpness": float("nan")},  # not JSON
    {"nested": {"a": 1}},  # not a scalar
])
def test_measurements_the_server_would_refuse_are_dropped_never_the_capture(tmp_path: Path, bad: dict[str, Any],
                                                                             caplog: pytest.LogCaptureFixture) -> None:
    with Store.open(tmp_path / "data") as store, caplog.at_level(logging.WARNING, logger="kiosk.store.admission"):
        record = store.add_record(new_record(measurements=bad), JPEG)
        got = store.get(record.id)
        assert got is not None and got.measurements is None and set(got.metadata()) == OLDER_KEYS
    assert "record.measurements_dropped" in caplog.text
