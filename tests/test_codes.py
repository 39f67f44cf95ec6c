"""Collection codes: the reference format, the code book's refusals, key files and rotation."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.batch import Batch
from kiosk.codes import (
    CodeBook,
    CodeError,
    CollectionCode,
    DamagedCode,
    ExpiredCode,
    KeyFileError,
    KeyRing,
    NotACode,
    ReferenceFormat,
    UnknownKey,
    WrongBatch,
    demo_codes,
    issue_code,
    load_formats,
    mask_id,
    mask_name,
)
from kiosk.config import CodesSection, ConfigError
from kiosk.text import table

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
BATCH = Batch("1S95KT", "10001", "北京大学", "2026-06-01", "2026-06-02")
SETTINGS = CodesSection()

FIELDS = {
    "student_uid": "0c834060af3e5b7fbb1336fdefd799e1", "school_code": "10001", "school_name": "北京大学",
    "student_number": "2023000001", "masked_name": "张*丰", "masked_id": "**************123X",
    "level": "本科", "issued_at": NOW - timedelta(days=3),
}


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing.new()


@pytest.fixture
def book(ring: KeyRing) -> CodeBook:
    return CodeBook(SETTINGS, ring)


def test_a_reference_code_reads_back_with_its_masked_fields(ring: KeyRing, book: CodeBook) -> None:
    payload = issue_code(ring, FIELDS)
    assert payload.startswith(f"KC1.{ring.current}.")
    code = book.parse(payload, BATCH, NOW)
    assert isinstance(code, CollectionCode)
    assert code.format == "reference"
    assert code.payload == payload
    assert code.student_uid == FIELDS["student_uid"]
    assert code.issued_at == FIELDS["issued_at"]
    assert code.id_tail == "123X"
    public = code.public_fields()
    assert public["masked_name"] == "张*丰"
    assert public["masked_id"] == "**************123X"
    assert public["school_code"] == "10001"
    assert "payload" not in public
    assert json.dumps(public)  # JSON-ready for the sync metadata
    assert code.public_fields(hide_tail=True)["masked_id"] == "*" * 18


def test_the_sealed_part_is_not_readable_without_the_key(ring: KeyRing) -> None:
    payload = issue_code(ring, FIELDS)
    sealed = base64.urlsafe_b64decode(payload.split(".")[2] + "==")
    assert b"2023000001" not in sealed
    assert "北京".encode() not in sealed
    assert issue_code(ring, FIELDS) != payload  # a fresh nonce each time


@pytest.mark.parametrize(
    "payload",
    [
        "https://weixin.qq.com/r/abc123",  # a URL
        "hello, this is just text",  # plain text
        "9787111544937",  # an EAN-13 from a book
        "\x00\x13\x8f\xff\x01junk\x7f",  # binary junk
        "\ufffd\ufffd\ufffd",  # bytes a decoder could not map
        "A" * 10_000,  # 10 KB of text
        "KC1." + "x" * 10_000,  # a long one with the right prefix
        "",
        "   ",
        "kc1.kabc.AAAA",  # the prefix is case-sensitive
    ],
)
def test_anything_but_a_code_is_not_a_code(book: CodeBook, payload: str) -> None:
    with pytest.raises(NotACode) as info:
        book.parse(payload, BATCH, NOW)
    assert info.value.key == "code.not_a_code"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: p[:-5],  # cut short
        lambda p: p + "A",  # one character more
        lambda p: p[:p.rindex(".")] + p[p.rindex(".") + 1:],  # structure broken
        lambda p: p + ".extra",
        lambda p: p.split(".")[0] + "." + p.split(".")[1] + ".@@@@",
        lambda p: p.split(".")[0] + "." + p.split(".")[1] + ".AAAA",  # too short to hold anything
    ],
)
def test_a_damaged_code_is_refused_as_damaged(ring: KeyRing, book: CodeBook, mangle) -> None:
    with pytest.raises(DamagedCode):
        book.parse(mangle(issue_code(ring, FIELDS)), BATCH, NOW)


def test_every_single_changed_character_of_the_ciphertext_is_caught(ring: KeyRing, book: CodeBook) -> None:
    payload = issue_code(ring, FIELDS)
    head_len = payload.rindex(".") + 1
    for i in range(head_len, len(payload) - 1):  # the last character may only carry padding bits
        swapped = "B" if payload[i] != "B" else "C"
        with pytest.raises(DamagedCode):
            book.parse(payload[:i] + swapped + payload[i + 1:], BATCH, NOW)


def test_the_key_id_is_authenticated(ring: KeyRing) -> None:
    """Relabelling a code with another key id of the same ring fails the tag."""
    other = ring.rotated()
    payload = issue_code(ring, FIELDS)
    relabelled = payload.replace(f".{ring.current}.", f".{other.current}.")
    alias = KeyRing.of({ring.current: ring.keys[ring.current], other.current: ring.keys[ring.current]},
                       other.current)
    with pytest.raises(DamagedCode):
        CodeBook(SETTINGS, alias).parse(relabelled, BATCH, NOW)


def test_an_unknown_key_and_a_newer_version_have_their_own_reasons(ring: KeyRing, book: CodeBook) -> None:
    stranger = issue_code(KeyRing.new(), FIELDS)
    with pytest.raises(UnknownKey) as info:
        book.parse(stranger, BATCH, NOW)
    assert info.value.key == "code.unknown_key"
    newer = issue_code(ring, FIELDS).replace("KC1.", "KC2.", 1)
    with pytest.raises(DamagedCode) as info2:
        book.parse(newer, BATCH, NOW)
    assert info2.value.key == "code.unsupported_version"


def test_sealed_content_that_is_not_a_code_is_damaged(ring: KeyRing, book: CodeBook) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key_id = ring.current
    bad_time = {**{k: "v" for k in ("u", "sc", "sn", "no", "nm", "lv")}, "id": "1234", "t": "x"}
    no_tail = {**bad_time, "id": "**************", "t": int(NOW.timestamp())}  # all masked: nothing to check
    short_tail = {**no_tail, "id": "***********12  "}
    for body in (b"not json", b"[1, 2]", json.dumps({"u": "x"}).encode(), json.dumps(bad_time).encode(),
                 json.dumps(no_tail).encode(), json.dumps(short_tail).encode()):
        nonce = os.urandom(12)
        sealed = nonce + AESGCM(ring.keys[key_id]).encrypt(nonce, body, f"KC1.{key_id}.".encode())
        payload = f"KC1.{key_id}." + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()
        with pytest.raises(DamagedCode):
            book.parse(payload, BATCH, NOW)


def test_a_code_of_another_school_is_refused_naming_both(ring: KeyRing, book: CodeBook) -> None:
    other = replace(BATCH, school_code="10003", school_name="清华大学")
    payload = issue_code(ring, FIELDS)
    with pytest.raises(WrongBatch) as info:
        book.parse(payload, other, NOW)
    assert "北京大学" in info.value.message("zh") and "清华大学" in info.value.message("zh")
    assert book.parse(payload, None, NOW).school_code == "10001"  # no batch: status look-ups


def test_old_codes_and_codes_from_the_future_are_refused(ring: KeyRing, book: CodeBook) -> None:
    old = issue_code(ring, {**FIELDS, "issued_at": NOW - timedelta(days=SETTINGS.max_age_days + 1)})
    with pytest.raises(ExpiredCode) as info:
        book.parse(old, BATCH, NOW)
    assert info.value.key == "code.expired"
    future = issue_code(ring, {**FIELDS, "issued_at": NOW + timedelta(hours=3)})
    with pytest.raises(ExpiredCode) as info2:
        book.parse(future, BATCH, NOW)
    assert info2.value.key == "code.from_future"
    slightly_ahead = issue_code(ring, {**FIELDS, "issued_at": NOW + timedelta(minutes=5)})
    assert book.parse(slightly_ahead, BATCH, NOW)  # clock skew between issuer and station
    assert book.parse(old, BATCH, NOW - timedelta(days=2))  # it was fine back then


def test_a_trailing_line_break_is_forgiven(ring: KeyRing, book: CodeBook) -> None:
    payload = issue_code(ring, FIELDS)
    assert book.parse(payload + "\r\n", BATCH, NOW).payload == payload


def test_a_naive_now_is_taken_as_utc(ring: KeyRing, book: CodeBook) -> None:
    assert book.parse(issue_code(ring, FIELDS), BATCH, NOW.replace(tzinfo=None))


def test_every_refusal_has_a_message_in_both_languages() -> None:
    strings = table()
    for key in ("code.invalid", "code.not_a_code", "code.damaged", "code.unsupported_version",
                "code.unknown_key", "code.wrong_batch", "code.expired", "code.from_future", "code.locked",
                "code.last_four_wrong", "codes.key_file_mode", "codes.key_file_missing", "codes.key_file_bad"):
        assert strings[key].zh and strings[key].en, key
    assert issubclass(NotACode, CodeError)


def test_the_log_never_carries_the_payload(ring: KeyRing, book: CodeBook, caplog) -> None:
    payload = issue_code(ring, FIELDS)
    caplog.set_level("DEBUG")
    book.parse(payload, BATCH, NOW)
    with pytest.raises(CodeError):
        book.parse(payload[:-3], BATCH, NOW)
    assert caplog.records
    assert all(payload[:20] not in r.getMessage() and "2023000001" not in r.getMessage() for r in caplog.records)


# -- key files --------------------------------------------------------------


def test_a_generated_key_file_is_owner_only_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ring = KeyRing.generate(path)
    assert (path.stat().st_mode & 0o777) == 0o600
    assert KeyRing.load(path) == ring
    with pytest.raises(KeyFileError) as info:
        KeyRing.generate(path)
    assert info.value.key == "codes.key_file_exists"


def test_a_key_file_others_can_read_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    KeyRing.generate(path)
    path.chmod(0o644)
    with pytest.raises(KeyFileError) as info:
        KeyRing.load(path)
    assert info.value.key == "codes.key_file_mode"
    assert "chmod 600" in info.value.message("en") and "644" in info.value.message("en")


_KEY = "A" * 43
_HEAD = '{"format": "kiosk-code-keys/1", '


@pytest.mark.parametrize("content", ["", "{", "[]", '{"format": "other"}',
                                     _HEAD + '"current": "a", "keys": {}}',
                                     _HEAD + '"current": "a", "keys": {"a": "c2hvcnQ"}}',
                                     _HEAD + '"current": "b", "keys": {"a": "' + _KEY + '"}}',
                                     _HEAD + '"current": "a.b", "keys": {"a.b": "' + _KEY + '"}}',
                                     # a key id ending in a line break would seal codes the station mangles
                                     _HEAD + '"current": "a\\n", "keys": {"a\\n": "' + _KEY + '"}}',
                                     _HEAD + '"current": "a", "keys": {"a": "' + "Ａ" * 43 + '"}}',
                                     _HEAD + '"current": "a", "keys": {"a": ["' + _KEY + '"]}}',
                                     _HEAD + '"current": ["a"], "keys": {"a": "' + _KEY + '"}}',
                                     "\ufeff\x00\xff binary"])
def test_a_malformed_key_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "keys.json"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileError) as info:
        KeyRing.load(path)
    assert info.value.key == "codes.key_file_bad"


def test_a_missing_key_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError) as info:
        CodeBook.from_settings(CodesSection(key_file=tmp_path / "nope.json"))
    assert info.value.key == "codes.key_file_missing"


def test_rotation_keeps_old_codes_readable(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = KeyRing.generate(path)
    old_code = issue_code(first, FIELDS)
    second = KeyRing.load(path).rotated()
    second.save(path, overwrite=True)
    new_code = issue_code(second, FIELDS)
    assert second.current != first.current
    assert new_code.split(".")[1] == second.current
    book = CodeBook.from_settings(CodesSection(key_file=path))
    assert book.parse(old_code, BATCH, NOW).student_uid == book.parse(new_code, BATCH, NOW).student_uid
    retired = KeyRing.of({second.current: second.keys[second.current]}, second.current)
    with pytest.raises(UnknownKey):
        CodeBook(SETTINGS, retired).parse(old_code, BATCH, NOW)


# -- formats as plug-ins ----------------------------------------------------


def test_formats_come_from_entry_points(ring: KeyRing) -> None:
    formats = load_formats(SETTINGS, ring)
    assert [f.name for f in formats] == ["reference"]
    assert isinstance(formats[0], ReferenceFormat)
    with pytest.raises(ConfigError) as info:
        load_formats(CodesSection(formats=["reference", "nonesuch"]), ring)
    assert "codes.formats" in info.value.message("en")


class _FakeFormat:
    """A second format, as a deployment would plug one in."""

    name = "fake"

    def claims(self, payload: str) -> bool:
        return payload.startswith("FAKE:")

    def parse(self, payload: str) -> CollectionCode:
        if payload == "FAKE:broken":
            raise DamagedCode(detail="fake")
        return CollectionCode(payload, "fake", "uid-1", "10001", "北京大学", "1", "李*", "******1234", "本科",
                              NOW - timedelta(days=1))


def test_the_code_book_asks_each_accepted_format(ring: KeyRing) -> None:
    book = CodeBook(SETTINGS, ring, formats=[ReferenceFormat(SETTINGS, ring), _FakeFormat()])
    assert book.parse("FAKE:ok", BATCH, NOW).format == "fake"
    assert book.parse(issue_code(ring, FIELDS), BATCH, NOW).format == "reference"
    with pytest.raises(DamagedCode):
        book.parse("FAKE:broken", BATCH, NOW)
    with pytest.raises(WrongBatch):  # the common rules apply to every format
        book.parse("FAKE:ok", replace(BATCH, school_code="99999"), NOW)
    assert book.claims("FAKE:x") and not book.claims("https://example.com")
    only_reference = CodeBook(SETTINGS, ring, formats=[ReferenceFormat(SETTINGS, ring)])
    with pytest.raises(NotACode):
        only_reference.parse("FAKE:ok", BATCH, NOW)


# -- issuing helpers --------------------------------------------------------


def test_masking_keeps_only_what_a_code_may_show() -> None:
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("王芳") == "王*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_id("110105199901011234") == "**************1234"
    assert mask_id("A123456(3)") == "******6(3)"


def test_demo_codes_are_valid_for_their_batch(ring: KeyRing, book: CodeBook) -> None:
    from kiosk.codes import last_four_matches

    students = demo_codes(ring, BATCH, 5, now=NOW - timedelta(days=1))
    assert len({s.payload for s in students}) == 5
    for s in students:
        code = book.parse(s.payload, BATCH, NOW)
        assert last_four_matches(code, s.last_four)
        assert code.masked_name == s.masked_name
