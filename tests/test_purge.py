"""kiosk purge: the retention rules through the command, with a clock the test controls."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_sync_fakes import jpeg_bytes

store_module = pytest.importorskip("kiosk.store")

from kiosk.cli import main  # noqa: E402
from kiosk.cli import purge as purge_cli  # noqa: E402
from kiosk.store.record import NewRecord  # noqa: E402

Store = store_module.Store
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
JPEG = jpeg_bytes(2)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _record(uid: str) -> NewRecord:
    return NewRecord(batch="1S95KT", station_id="st-1", code_payload=f"KC1.k1.payload-{uid}",
                     code_fields={"masked_name": "张*"}, student_uid=uid, id_last4="123X")


@pytest.fixture
def station(tmp_path: Path) -> tuple[Path, dict[str, object]]:
    """A store at T0 with one acknowledged record (with original) and one never sent."""
    data = tmp_path / "data"
    clock = Clock()
    with Store.open(data, clock=clock) as s:
        sent = s.add_record(_record("A"), JPEG, original_jpeg=JPEG)
        unsent = s.add_record(_record("B"), JPEG)
        leased = s.lease_next("w", 60, clock())
        assert leased is not None and leased.id == sent.id
        s.mark_sent(sent.id, {"status": "queued"})
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[station]\ndata_dir = "{data}"\n[retention]\nphoto_days_after_ack = 30\nrecord_days = 365\n',
                   "utf-8")
    return cfg, {"data": data, "sent": sent, "unsent": unsent}


def _args(cfg: Path, *, dry_run: bool = False, at: datetime | None = None, list_ids: bool = True,
          ) -> argparse.Namespace:
    return argparse.Namespace(config=cfg, dry_run=dry_run, at=at, list=list_ids)


def test_nothing_is_due_before_the_photo_retention(station, capsys) -> None:
    cfg, r = station
    assert purge_cli.run(_args(cfg), now=T0 + timedelta(days=29)) == 0
    assert r["sent"].photo_path.exists()
    assert "Deleted 0 photos" in capsys.readouterr().out


def test_dry_run_counts_and_deletes_nothing(station, capsys) -> None:
    cfg, r = station
    assert purge_cli.run(_args(cfg, dry_run=True), now=T0 + timedelta(days=31)) == 0
    out = capsys.readouterr().out
    assert "Dry run, nothing deleted: would delete 1 photos and 0 records" in out
    assert f"photo   {r['sent'].id}" in out
    assert r["sent"].photo_path.exists() and r["sent"].original_path.exists()


def test_photos_go_after_acknowledgement_and_unsent_records_stay(station, capsys) -> None:
    cfg, r = station
    assert purge_cli.run(_args(cfg), now=T0 + timedelta(days=31)) == 0
    assert not r["sent"].photo_path.exists() and not r["sent"].original_path.exists()
    assert r["unsent"].photo_path.exists()
    with Store.open(r["data"]) as s:
        assert s.get(r["sent"].id) is not None  # the record stays until a year after capture
    assert "Deleted 1 photos" in capsys.readouterr().out


def test_after_a_year_sent_records_go_and_unsent_ones_are_reported(station, capsys) -> None:
    cfg, r = station
    assert purge_cli.run(_args(cfg), now=T0 + timedelta(days=366)) == 0
    out = capsys.readouterr().out
    with Store.open(r["data"]) as s:
        assert s.get(r["sent"].id) is None
        kept = s.get(r["unsent"].id)
        assert kept is not None and kept.photo_path.exists()
    assert f"record  {r['sent'].id}" in out
    assert "never uploaded; they are kept" in out and "从未上传成功" in out
    assert f"unsent  {r['unsent'].id}" in out


def test_the_command_previews_a_date_only_in_a_dry_run(station, capsys) -> None:
    cfg, r = station
    assert main(["purge", "--config", str(cfg), "--dry-run", "--at", "2027-06-02"]) == 0
    out = capsys.readouterr().out
    assert "would delete 0 photos and 1 records" in out and "2027-06-02" in out
    assert r["sent"].photo_path.exists()
    assert main(["purge", "--config", str(cfg), "--at", "2027-06-02"]) == 2
    assert "--at works only with --dry-run" in capsys.readouterr().err
    assert r["sent"].photo_path.exists()


def test_the_command_uses_the_real_clock(station, capsys) -> None:
    cfg, r = station
    # today is long after T0 + 30 days in this test's world only if the machine's clock says so
    assert main(["purge", "--config", str(cfg)]) == 0
    due = datetime.now(UTC) >= T0 + timedelta(days=30)
    assert r["sent"].photo_path.exists() is not due


def test_unremovable_files_make_the_exit_status_1(station, capsys, monkeypatch) -> None:
    cfg, _ = station
    original_unlink = Path.unlink

    def refuse(self: Path, missing_ok: bool = False) -> None:
        if self.suffix == ".jpg":
            raise PermissionError(13, "Permission denied")
        original_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse)
    assert purge_cli.run(_args(cfg), now=T0 + timedelta(days=31)) == 1
    assert "could not be removed" in capsys.readouterr().out


def test_a_bad_config_is_refused_with_its_key(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text("[retention]\nrecord_days = 0\n", "utf-8")
    assert main(["purge", "--config", str(cfg), "--dry-run"]) == 2
    assert "retention.record_days" in capsys.readouterr().err


def test_a_station_without_records_is_left_untouched(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[station]\ndata_dir = "{data}"\n', "utf-8")
    assert main(["purge", "--config", str(cfg), "--dry-run"]) == 0
    assert "nothing to purge" in capsys.readouterr().out
    assert not data.exists()


def test_a_code_bound_but_not_yet_pushed_keeps_its_record(tmp_path: Path) -> None:
    clock = Clock()
    with Store.open(tmp_path / "data", clock=clock) as s:
        rec = s.add_record(NewRecord(batch="1S95KT", station_id="st-1", codeless=True, ticket="ABCDEFGHJ",
                                     phone="13800138000", id_last4="1234"), JPEG)
        s.lease_next("w", 60, clock())
        s.mark_sent(rec.id, {"status": "awaiting_code"})
        s.bind_code("ABCDEFGHJ", "KC1.k1.payload-C", None, "C", "1234")  # the server has not heard of it yet
        report = s.purge(T0 + timedelta(days=366), photo_days_after_ack=30, record_days=365)
        assert report.records_deleted == [] and report.unsent_kept == [rec.id]
        kept = s.get(rec.id)
        assert kept is not None and kept.binding_state == "pending" and kept.code_payload == "KC1.k1.payload-C"
        assert s.pending_bindings()[0].id == rec.id
