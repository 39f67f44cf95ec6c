"""The last-four check: normalising what students type, and the lock-out that survives a restart."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from kiosk.codes import AttemptLock, CodeLocked, last_four_matches, normalise_last_four
from kiosk.config import CodesSection

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def code(masked_id: str) -> SimpleNamespace:
    from kiosk.codes.collection_code import CollectionCode

    c = CollectionCode("p", "reference", "uid", "10001", "北京大学", "1", "张*", masked_id, "本科", T0)
    return SimpleNamespace(id_tail=c.id_tail)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("123x", "123X"),
        ("１２３Ｘ", "123X"),
        ("１２３ｘ", "123X"),
        (" 12 3X ", "123X"),
        ("3（７）", "3(7)"),
        ("（３）", "(3)"),
        ("3\u3000(7)", "3(7)"),
        ("\u200b123x\ufeff", "123X"),  # invisible characters a pasted text may carry
        ("12\u200d3X", "123X"),
        ("", ""),
    ],
)
def test_normalising_what_students_type(typed: str, expected: str) -> None:
    assert normalise_last_four(typed) == expected


@pytest.mark.parametrize(
    ("masked_id", "typed", "ok"),
    [
        ("**************123X", "123X", True),
        ("**************123X", "123x", True),
        ("**************123X", "１２３ｘ", True),
        ("**************123X", "1 2 3 X", True),
        ("**************123X", "1230", False),
        ("**************123X", "23X", False),
        ("**************123X", "0123X", False),
        ("**************123X", "", False),
        ("******3(7)", "3(7)", True),
        ("******3(7)", "3（７）", True),
        ("******3(7)", "37", True),  # brackets are optional to type
        ("******3(7)", "3(8)", False),
        ("******3(7)", "38", False),
        ("******3(7)", "(7)", False),
        ("******3（７）", "3(7)", True),  # a full-width tail on the code too
        ("**************0018", "0018", True),
        ("**************123X", "\u200b123X", True),
        # a code that shows no tail cannot be matched, least of all by typing its stars
        ("****************", "****", False),
        ("**************12 ", "**12", False),
        ("************＊＊＊＊", "****", False),
    ],
)
def test_the_last_four_is_compared_with_the_visible_tail(masked_id: str, typed: str, ok: bool) -> None:
    assert last_four_matches(code(masked_id), typed) is ok


def test_three_misses_lock_the_code_and_the_lock_survives_a_restart(tmp_path: Path) -> None:
    lock = AttemptLock.from_settings(CodesSection(max_attempts=3, lock_minutes=10), tmp_path)
    lock.check("student-a", T0)
    assert lock.miss("student-a", T0) == 2
    assert lock.miss("student-a", T0 + timedelta(seconds=10)) == 1
    assert lock.miss("student-a", T0 + timedelta(seconds=20)) == 0
    with pytest.raises(CodeLocked) as info:
        lock.check("student-a", T0 + timedelta(seconds=30))
    assert info.value.params["minutes"] == 10
    assert "10" in info.value.message("en")
    lock.check("student-b", T0)  # other codes are not affected

    restarted = AttemptLock(tmp_path / "attempts.sqlite", 3, 10)
    with pytest.raises(CodeLocked) as info2:
        restarted.check("student-a", T0 + timedelta(minutes=7, seconds=30))
    assert info2.value.params["minutes"] == 3
    assert restarted.miss("student-a", T0 + timedelta(minutes=8)) == 0  # still locked, nothing new counted
    restarted.check("student-a", T0 + timedelta(minutes=10, seconds=21))  # the lock has run out
    assert restarted.miss("student-a", T0 + timedelta(minutes=11)) == 2  # and counting starts afresh


def test_a_right_entry_clears_the_misses(tmp_path: Path) -> None:
    lock = AttemptLock(tmp_path / "a.sqlite", max_attempts=3, lock_minutes=10)
    lock.miss("s", T0)
    lock.miss("s", T0)
    lock.clear("s")
    assert lock.miss("s", T0) == 2


def test_old_misses_are_forgotten(tmp_path: Path) -> None:
    lock = AttemptLock(tmp_path / "a.sqlite", max_attempts=3, lock_minutes=10)
    lock.miss("s", T0)
    lock.miss("s", T0)
    assert lock.miss("s", T0 + timedelta(hours=1)) == 2


def test_the_lock_file_holds_no_student_uid(tmp_path: Path) -> None:
    lock = AttemptLock(tmp_path / "a.sqlite", max_attempts=1, lock_minutes=5)
    assert lock.miss("0c834060af3e5b7fbb1336fdefd799e1", T0) == 0
    with sqlite3.connect(tmp_path / "a.sqlite") as db:
        rows = db.execute("SELECT * FROM attempts").fetchall()
    assert rows and "0c834060" not in repr(rows)
    assert b"0c834060" not in (tmp_path / "a.sqlite").read_bytes()


@pytest.mark.parametrize("damage", ["garbage", "other-table"])
def test_a_damaged_lock_file_is_set_aside_and_the_station_goes_on(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "attempts.sqlite"
    if damage == "garbage":
        path.write_bytes(b"this is not a database" * 100)
    else:
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE attempts (something_else TEXT)")
    lock = AttemptLock(path, max_attempts=2, lock_minutes=10)
    lock.check("s", T0)
    assert lock.miss("s", T0) == 1
    assert lock.miss("s", T0) == 0
    with pytest.raises(CodeLocked):
        lock.check("s", T0)
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("attempts.sqlite.damaged-")]
    assert len(kept) == 1  # kept for a look, not deleted
