"""Console passwords and the session/CSRF/lock-out rules (pure functions)."""

from __future__ import annotations

import pytest

from kiosk.server import passwords
from kiosk.server.passwords import hash_password, needs_rehash, password_problem, verify_password
from kiosk.server.sessions import (
    LockPolicy,
    SessionPolicy,
    after_miss,
    cookie_secure,
    locked,
    session_alive,
    token_key,
    tokens_match,
)

FAST = {"n": 2**10, "r": 8, "p": 1}


def test_a_password_verifies_and_a_wrong_one_does_not() -> None:
    stored = hash_password("correct horse battery", **FAST)
    assert stored.startswith("scrypt$1024$8$1$")
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    assert not verify_password("", stored)


def test_each_hash_has_its_own_salt() -> None:
    assert hash_password("same password!", **FAST) != hash_password("same password!", **FAST)


@pytest.mark.parametrize("stored", ["", "scrypt$", "bcrypt$x", "scrypt$3$8$1$AAAA$AAAA", "scrypt$1024$8$1$!!$AAAA",
                                    "scrypt$1048576$64$1$AAAA$AAAA"])
def test_a_damaged_hash_never_verifies_and_never_raises(stored: str) -> None:
    assert not verify_password("anything at all", stored)
    assert needs_rehash(stored)


def test_old_parameters_ask_for_a_rehash() -> None:
    assert needs_rehash(hash_password("a long password", **FAST))
    assert not needs_rehash(f"scrypt${passwords.SCRYPT_N}${passwords.SCRYPT_R}${passwords.SCRYPT_P}$AAAA$AAAA")


def test_the_dummy_hash_is_well_formed_so_unknown_names_cost_a_hash() -> None:
    assert passwords._parse(passwords.DUMMY_HASH) is not None
    assert not verify_password("whatever it is", passwords.DUMMY_HASH)


def test_password_rules() -> None:
    assert password_problem("short") == "console.password.too_short"
    assert password_problem("x" * 300) == "console.password.too_long"
    assert password_problem(" padded password ") == "console.password.spaces"
    assert password_problem("a good long one") is None


def test_tokens_match_in_constant_time_and_never_when_missing() -> None:
    assert tokens_match("abc", "abc")
    assert not tokens_match("abc", "abd")
    assert not tokens_match("", "")
    assert not tokens_match(None, "abc")
    assert not tokens_match("abc", None)
    assert len(token_key("t")) == 64


def test_a_session_ends_when_idle_or_too_old() -> None:
    policy = SessionPolicy(idle_s=60, max_s=600)
    assert session_alive(0, 0, 60, policy)
    assert not session_alive(0, 0, 61, policy)
    assert session_alive(0, 550, 600, policy)
    assert not session_alive(0, 590, 601, policy)


def test_misses_lead_to_a_lock_and_start_again() -> None:
    policy = LockPolicy(max_misses=3, lock_s=100)
    state = after_miss(0, 10, policy)
    assert (state.misses, state.locked_until) == (1, None)
    state = after_miss(2, 10, policy)
    assert (state.misses, state.locked_until) == (0, 110)
    assert locked(110, 109.9)
    assert not locked(110, 110)
    assert not locked(None, 0)


def test_cookies_are_secure_over_https_or_when_published_on_https() -> None:
    assert cookie_secure("https", "")
    assert cookie_secure("http", "https://photos.example.edu")
    assert not cookie_secure("http", "")
    assert not cookie_secure("http", "http://10.0.0.5:8700")
