"""The reference collection-code format: what this project's own server issues.

A payload reads ``KC1.<key id>.<sealed>``:

* ``KC1`` - the format and its version;
* ``<key id>`` - which key of the ``KeyRing`` sealed it (1-16 letters/digits);
* ``<sealed>`` - base64url (no padding) of a 12-byte nonce followed by the
  AES-256-GCM ciphertext and tag of a UTF-8 JSON object.

The authenticated associated data is ``KC1.<key id>.``, so the version and
the key id cannot be altered without the tag failing. The JSON holds short
keys to keep the QR code small::

    {"u": student uid, "sc": school code, "sn": school name,
     "no": student number, "nm": masked name, "id": masked ID number
     (last four visible), "lv": level, "t": issue time (Unix seconds)}

Only masked personal data is ever in a code: the real name and ID number are
never issued.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.codes.collection_code import CollectionCode, DamagedCode, NotACode, UnknownKey, normalise_last_four
from kiosk.codes.keyring import KeyRing, valid_key_id
from kiosk.config import CodesSection

PREFIX = "KC"
VERSION = 1
NAME = "reference"
NONCE_BYTES = 12
_CLAIM = re.compile(r"^KC\d{1,3}\.")
_SEALED = re.compile(r"^[A-Za-z0-9_-]+$")
_FIELDS = {"u": "student_uid", "sc": "school_code", "sn": "school_name", "no": "student_number",
           "nm": "masked_name", "id": "masked_id", "lv": "level"}
#: Longest text field a code may carry (a reader refuses longer ones as damaged).
MAX_FIELD = 200


def _head(key_id: str) -> str:
    return f"{PREFIX}{VERSION}.{key_id}."


class ReferenceFormat:
    """The reference format as a code-format plug-in (entry point ``reference``)."""

    name = NAME

    def __init__(self, settings: CodesSection | None = None, keys: KeyRing | None = None) -> None:
        self.keys = keys or KeyRing.empty()

    def claims(self, payload: str) -> bool:
        """Whether ``payload`` says it is in this format (any version)."""
        return bool(_CLAIM.match(payload))

    def parse(self, payload: str) -> CollectionCode:
        """The code in ``payload``; ``DamagedCode``, ``UnknownKey`` or ``NotACode`` otherwise."""
        if not self.claims(payload):
            raise NotACode(detail="no reference prefix")
        parts = payload.split(".")
        if parts[0] != f"{PREFIX}{VERSION}":
            raise DamagedCode("code.unsupported_version", f"version={parts[0][len(PREFIX):]}")
        if len(parts) != 3 or not valid_key_id(parts[1]) or not _SEALED.match(parts[2]):
            raise DamagedCode(detail="structure")
        key_id, sealed = parts[1], parts[2]
        key = self.keys.key(key_id)
        if key is None:
            raise UnknownKey(detail=f"key_id={key_id}")
        try:
            raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
        except (binascii.Error, ValueError):
            raise DamagedCode(detail="base64") from None
        if len(raw) < NONCE_BYTES + 16 + 2:
            raise DamagedCode(detail="too short")
        try:
            plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _head(key_id).encode("ascii"))
        except InvalidTag:
            raise DamagedCode(detail="authentication failed") from None
        return _from_plain(payload, plain)


def _from_plain(payload: str, plain: bytes) -> CollectionCode:
    try:
        data = json.loads(plain.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DamagedCode(detail="sealed content is not JSON") from None
    if not isinstance(data, dict):
        raise DamagedCode(detail="sealed content is not an object")
    values: dict[str, Any] = {}
    for short, name in _FIELDS.items():
        value = data.get(short)
        if not isinstance(value, str) or len(value) > MAX_FIELD:
            raise DamagedCode(detail=f"field {short}")
        values[name] = value
    issued = data.get("t")
    if not isinstance(issued, int | float) or isinstance(issued, bool):
        raise DamagedCode(detail="field t")
    try:
        values["issued_at"] = datetime.fromtimestamp(issued, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise DamagedCode(detail="field t range") from None
    if not values["student_uid"] or len(values["masked_id"]) < 4:
        raise DamagedCode(detail="empty uid or short id")
    tail = normalise_last_four(values["masked_id"])[-4:]
    if len(tail) < 4 or "*" in tail:
        raise DamagedCode(detail="no visible id tail")  # the last-four check would have nothing to compare
    return CollectionCode(payload=payload, format=NAME, **values)


def issue_code(keyring: KeyRing, fields: Mapping[str, Any]) -> str:
    """A reference-format payload sealed with the ring's current key.

    ``fields`` has ``student_uid``, ``school_code``, ``school_name``,
    ``student_number``, ``masked_name``, ``masked_id`` (only masked values:
    see ``mask_name`` and ``mask_id``), ``level`` and optionally ``issued_at``
    (an aware datetime; now when missing).
    """
    key = keyring.key(keyring.current)
    if key is None:
        raise UnknownKey(detail="no current key")
    body: dict[str, Any] = {short: str(fields.get(name, "")) for short, name in _FIELDS.items()}
    issued = fields.get("issued_at") or datetime.now(UTC)
    if issued.tzinfo is None:
        issued = issued.replace(tzinfo=UTC)
    body["t"] = int(issued.timestamp())
    plain = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    nonce = os.urandom(NONCE_BYTES)
    head = _head(keyring.current)
    sealed = nonce + AESGCM(key).encrypt(nonce, plain, head.encode("ascii"))
    return head + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")


def mask_name(name: str) -> str:
    """A name as codes show it: first character kept, the rest starred except a last of three or more."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id(id_number: str) -> str:
    """An ID number with all but its last four characters starred."""
    text = "".join(id_number.split())
    return "*" * max(0, len(text) - 4) + text[-4:]
