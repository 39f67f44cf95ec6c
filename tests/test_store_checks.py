"""What the store finds when it opens (corrupt, missing, orphan photos), and retention."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from test_store import JPEG, T0, Clock, code_record, codeless_record

from kiosk.store import Store


def test_corrupted_photo_is_detected_and_moved_aside(tmp_path: Path) -> None:
    with Store.open(tmp_path) as s:
        bad = s.add_record(code_record("A"), JPEG)
        good = s.add_record(code_record("B"), JPEG)
    bad.photo_path.write_bytes(JPEG[:-20] + b"x" * 20)  # a flipped tail, same size
    with Store.open(tmp_path) as s:
        assert s.startup.corrupt == [bad.id] and s.startup.missing == [] and not s.startup.clean
        got = s.get(bad.id)
        assert got is not None and got.sync_state == "dead" and got.dead_reason == "photo_corrupt"
        assert got.quarantined == "photo_corrupt"
        kept = s.quarantine_dir / bad.id
        assert (kept / bad.photo_path.name).exists()  # moved, never deleted
        assert json.loads((kept / "record.json").read_text())["id"] == bad.id
        assert not bad.photo_path.exists()
        other = s.get(good.id)
        assert other is not None and other.sync_state == "pending"
        leased = s.lease_next("w", 60, datetime.now(UTC))
        assert leased is not None and leased.id == good.id  # the damaged one is never uploaded
    with Store.open(tmp_path) as s:
        assert s.startup.clean  # reported once, not again at every start


def test_missing_photo_is_reported(tmp_path: Path) -> None:
    with Store.open(tmp_path) as s:
        rec = s.add_record(code_record(), JPEG)
    rec.photo_path.unlink()
    with Store.open(tmp_path) as s:
        assert s.startup.missing == [rec.id]
        got = s.get(rec.id)
        assert got is not None and got.dead_reason == "photo_missing"
        assert (s.quarantine_dir / rec.id / "record.json").exists()


def test_orphan_photos_are_moved_aside_once_old_enough(tmp_path: Path) -> None:
    with Store.open(tmp_path) as s:
        s.add_record(code_record(), JPEG)
        photos = s.photos_dir
    old = photos / "0000-orphan.jpg"
    old.write_bytes(JPEG)
    stamp = (datetime.now(UTC) - timedelta(hours=1)).timestamp()
    os.utime(old, (stamp, stamp))
    leftover = photos / ".1111.jpg.tmp"  # an interrupted write
    leftover.write_bytes(b"\xff\xd8half")
    os.utime(leftover, (stamp, stamp))
    fresh = photos / "2222.jpg"  # may be another process's capture, about to be committed
    fresh.write_bytes(JPEG)
    with Store.open(tmp_path) as s:
        assert sorted(s.startup.orphans) == [".1111.jpg.tmp", "0000-orphan.jpg"]
        assert (s.quarantine_dir / "orphans" / "0000-orphan.jpg").read_bytes() == JPEG
        assert (s.quarantine_dir / "orphans" / "1111.jpg.tmp").exists()
        assert fresh.exists() and not old.exists()


def test_purge_follows_retention_with_a_controlled_clock(tmp_path: Path) -> None:
    clock = Clock()
    s = Store.open(tmp_path, clock=clock)
    sent = s.add_record(code_record("A"), JPEG, original_jpeg=JPEG)
    unsent = s.add_record(codeless_record(), JPEG)
    s.lease_next("w", 60, clock())
    s.mark_sent(sent.id, {"status": "queued"})  # acknowledged at T0

    report = s.purge(T0 + timedelta(days=29), photo_days_after_ack=30, record_days=365)
    assert report.photos_deleted == [] and report.records_deleted == []

    dry = s.purge(T0 + timedelta(days=31), photo_days_after_ack=30, record_days=365, dry_run=True)
    card = sent.photo_path.with_suffix(".json")
    assert dry.photos_deleted == [sent.id] and dry.bytes_freed == 2 * len(JPEG) + card.stat().st_size
    assert sent.photo_path.exists()

    clock.now = T0 + timedelta(days=31)
    report = s.purge(clock(), photo_days_after_ack=30, record_days=365)
    assert report.photos_deleted == [sent.id] and report.unsent_kept == []
    assert not sent.photo_path.exists() and sent.original_path is not None and not sent.original_path.exists()
    assert not card.exists() and unsent.photo_path.with_suffix(".json").exists()  # the card goes with the photo
    row = s.get(sent.id)
    assert row is not None and row.photo_deleted_at == clock() and row.review_status == "queued"
    assert unsent.photo_path.exists()
    s.close()
    s = Store.open(tmp_path, clock=clock, check_photos="all")
    assert s.startup.clean  # a purged photo is not a missing one

    clock.now = T0 + timedelta(days=366)
    report = s.purge(clock(), photo_days_after_ack=30, record_days=365)
    assert report.records_deleted == [sent.id] and s.get(sent.id) is None
    assert report.unsent_kept == [unsent.id] and report.warnings == [f"unsent record kept: {unsent.id}"]
    assert s.get(unsent.id) is not None and unsent.photo_path.exists()  # never sent: never deleted
    assert [e["kind"] for e in s.events(sent.id)][-1] == "deleted"  # the audit trail stays
    s.close()


def test_a_photo_that_cannot_be_read_now_is_left_in_place_and_still_sent(tmp_path: Path, monkeypatch) -> None:
    import errno

    from kiosk.store import quarantine

    with Store.open(tmp_path) as s:
        rec = s.add_record(code_record(), JPEG)

    def io_error(path: Path) -> str:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(quarantine, "file_sha256", io_error)
    with Store.open(tmp_path) as s:
        got = s.get(rec.id)
        assert got is not None and got.sync_state == "pending" and got.quarantined is None
        assert rec.photo_path.read_bytes() == JPEG  # not moved aside: a passing error must not end a record
        assert s.startup.unreadable == [rec.id] and s.startup.clean  # reported, nothing moved aside
    monkeypatch.undo()
    with Store.open(tmp_path) as s:
        assert s.startup.clean and s.startup.unreadable == []
