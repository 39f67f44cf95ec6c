"""Operator PIN: hashing, checking, the persisted lock after wrong tries."""

from __future__ import annotations

import json

import pytest

from kiosk.config import OperatorSection
from kiosk.operator import DEMO_PIN, ITERATIONS, PinError, PinLock, hash_pin, is_demo_pin, verify_pin

FAST = 1000  # iterations for tests; the default is checked once below


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_hash_format_and_verify() -> None:
    hashed = hash_pin("2468", iterations=FAST)
    algorithm, iterations, salt, digest = hashed.split("$")
    assert algorithm == "pbkdf2_sha256" and iterations == str(FAST) and salt and digest
    assert verify_pin("2468", hashed)
    assert not verify_pin("2469", hashed)
    assert not verify_pin("", hashed)


def test_default_iterations_are_used_and_salt_differs() -> None:
    a = hash_pin("2468")
    assert a.split("$")[1] == str(ITERATIONS)
    assert hash_pin("2468", iterations=FAST) != hash_pin("2468", iterations=FAST)


@pytest.mark.parametrize("pin", ["", "12", "abcd", "1234567890123", "１２３４"])
def test_bad_pins_are_refused(pin: str) -> None:
    with pytest.raises(PinError) as info:
        hash_pin(pin, iterations=FAST)
    assert info.value.key == "operator.pin_invalid"


@pytest.mark.parametrize("hashed", ["garbage", "md5$1$a$b", "pbkdf2_sha256$x$a$b", "pbkdf2_sha256$0$YQ$YQ"])
def test_malformed_hash_never_matches(hashed: str) -> None:
    assert not verify_pin("0000", hashed)
    assert not verify_pin("", hashed)


def test_empty_hash_means_demo_pin() -> None:
    assert verify_pin(DEMO_PIN, "")
    assert not verify_pin("1234", "")
    assert is_demo_pin(OperatorSection())
    assert not is_demo_pin(OperatorSection(pin_hash=hash_pin("2468", iterations=FAST)))


def test_five_wrong_pins_lock_even_the_right_one_and_each_lock_is_longer(tmp_path) -> None:
    clock = Clock()
    lock = PinLock(tmp_path / "lock.json", hash_pin("2468", iterations=FAST), 5, 60.0, clock)
    lefts = [lock.attempt("1111").tries_left for _ in range(4)]
    assert lefts == [4, 3, 2, 1]
    last = lock.attempt("1111")
    assert (last.ok, last.tries_left, last.locked_minutes) == (False, 0, 1)  # 30 s: a tired operator's typos
    refused = lock.attempt("2468")
    assert not refused.ok and refused.locked_minutes == 1
    clock.t += 31
    assert lock.locked_minutes() == 0
    assert [lock.attempt("1111").locked_minutes for _ in range(5)] == [0, 0, 0, 0, 1]  # then 1 min
    clock.t += 61
    assert [lock.attempt("1111").locked_minutes for _ in range(5)][-1] == 5  # then 5 min: a guesser's
    clock.t += 301
    assert lock.attempt("2468").ok
    assert lock.attempt("1111").tries_left == 4  # a right PIN starts the ladder again


def test_the_longest_lock_is_the_configured_one(tmp_path) -> None:
    clock = Clock()
    lock = PinLock(tmp_path / "lock.json", hash_pin("2468", iterations=FAST), 1, 2.0, clock)
    assert [lock.lock_for(n) for n in (1, 2, 3, 9)] == [30.0, 60.0, 120.0, 120.0]


def test_kiosk_operator_unlock_lifts_the_lock_and_is_audited(tmp_path, capsys) -> None:
    from kiosk.cli import main
    from kiosk.store import Store

    (tmp_path / "kiosk.toml").write_text(f'[station]\ndata_dir = "{tmp_path / "data"}"\n')
    lock = PinLock.from_settings(OperatorSection(max_attempts=1), tmp_path / "data", Clock())
    assert lock.attempt("9999").locked_minutes == 1
    assert main(["operator", "--config", str(tmp_path / "kiosk.toml"), "unlock"]) == 0
    assert "lifted" in capsys.readouterr().out
    assert lock.attempt(DEMO_PIN).ok
    with Store.open(tmp_path / "data") as store:
        assert [e["kind"] for e in store.station_log()] == ["pin_unlocked"]


def test_lock_survives_a_new_instance(tmp_path) -> None:
    clock = Clock()
    hashed = hash_pin("2468", iterations=FAST)
    first = PinLock(tmp_path / "lock.json", hashed, 2, 5.0, clock)
    first.attempt("0")
    first.attempt("0")
    again = PinLock(tmp_path / "lock.json", hashed, 2, 5.0, clock)
    assert again.locked_minutes() == 1
    assert not again.attempt("2468").ok


def test_success_clears_the_count(tmp_path) -> None:
    clock = Clock()
    lock = PinLock(tmp_path / "lock.json", hash_pin("2468", iterations=FAST), 3, 5.0, clock)
    lock.attempt("1")
    lock.attempt("1")
    assert lock.attempt("2468").ok
    assert lock.attempt("1").tries_left == 2
    assert json.loads((tmp_path / "lock.json").read_text())["misses"] == 1


def test_unreadable_lock_file_keeps_the_door_shut(tmp_path) -> None:
    path = tmp_path / "lock.json"
    path.write_text("{not json")
    clock = Clock()
    lock = PinLock(path, "", 5, 5.0, clock)
    result = lock.attempt(DEMO_PIN)
    assert not result.ok and result.locked_minutes == 5
    clock.t += 5 * 60 + 1  # the repaired file lets the lock run out
    assert lock.attempt(DEMO_PIN).ok


def test_from_settings_uses_the_data_dir(tmp_path) -> None:
    lock = PinLock.from_settings(OperatorSection(max_attempts=1, lock_minutes=0.25), tmp_path, Clock())
    assert lock.demo
    assert lock.attempt(DEMO_PIN).ok
    assert lock.attempt("9999").locked_minutes == 1 and lock.lock_for(1) == 15.0
    assert (tmp_path / "operator_lock.json").exists()


def test_kiosk_config_pin_prints_a_hash(capsys) -> None:
    from kiosk.cli import main

    assert main(["config", "pin", "--pin", "2468"]) == 0
    hashed = capsys.readouterr().out.strip()
    assert hashed.startswith("pbkdf2_sha256$") and verify_pin("2468", hashed)
    assert main(["config", "pin", "--pin", "12"]) == 2
    assert "4 to 12 digits" in capsys.readouterr().err


def test_a_lock_file_that_cannot_be_written_still_locks(tmp_path, monkeypatch) -> None:
    # a full disk must not turn the lock into unlimited guesses
    import errno

    from kiosk import durable

    def disk_full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(durable, "write_file", disk_full)
    clock = Clock()
    lock = PinLock(tmp_path / "lock.json", hash_pin("2468", iterations=FAST), 3, 5.0, clock)
    assert [lock.attempt("1111").tries_left for _ in range(2)] == [2, 1]
    assert lock.attempt("1111").locked_minutes == 1
    assert not lock.attempt("2468").ok
    clock.t += 31
    assert lock.attempt("2468").ok
    assert lock.attempt("1111").tries_left == 2
