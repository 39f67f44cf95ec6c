"""The secret keys of the reference collection-code format.

A key file is JSON, readable by its owner only (mode 0600)::

    {"format": "kiosk-code-keys/1",
     "current": "k3f9a1c",
     "keys": {"k3f9a1c": "<base64url of 32 random bytes>", "k0b7e22": "..."}}

Codes are issued with the ``current`` key and carry its id, so keys can be
rotated: add a new key, make it current, and keep the old ones for as long as
codes issued with them must still be read.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kiosk.errors import KioskError
from kiosk.userfiles import open_output, read_input_text

FILE_FORMAT = "kiosk-code-keys/1"
KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9]{1,16}$")


class KeyFileError(KioskError):
    """A key file that is missing, unreadable, malformed or readable by others."""

    default_key = "codes.key_file_bad"


def valid_key_id(key_id: str) -> bool:
    """Whether ``key_id`` is a well-formed key id (1-16 letters or digits)."""
    return isinstance(key_id, str) and bool(_KEY_ID.fullmatch(key_id))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class KeyRing:
    """AES-256 keys by key id, one of them current (the one new codes are issued with)."""

    current: str
    keys: MappingProxyType[str, bytes] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.keys and self.current not in self.keys:
            raise KeyFileError(detail="current key id not among the keys", file="?")

    @classmethod
    def of(cls, keys: dict[str, bytes], current: str) -> KeyRing:
        """A key ring from a plain dict (tests and the demo)."""
        return cls(current=current, keys=MappingProxyType(dict(keys)))

    @classmethod
    def empty(cls) -> KeyRing:
        """A ring without keys: every reference code reads as an unknown key."""
        return cls(current="", keys=MappingProxyType({}))

    @classmethod
    def new(cls) -> KeyRing:
        """A ring with one fresh random key."""
        key_id = new_key_id()
        return cls.of({key_id: secrets.token_bytes(KEY_BYTES)}, key_id)

    def key(self, key_id: str) -> bytes | None:
        """The key with id ``key_id``, or None."""
        return self.keys.get(key_id)

    def rotated(self) -> KeyRing:
        """This ring plus a fresh key that becomes current; the old keys stay readable."""
        key_id = new_key_id()
        while key_id in self.keys:
            key_id = new_key_id()
        return KeyRing.of({**self.keys, key_id: secrets.token_bytes(KEY_BYTES)}, key_id)

    def to_json(self) -> dict[str, Any]:
        """The key file's JSON form."""
        return {"format": FILE_FORMAT, "current": self.current,
                "keys": {k: _b64(v) for k, v in self.keys.items()}}

    @classmethod
    def from_json(cls, data: Any, file: str = "?") -> KeyRing:
        """A ring from the key file's JSON form; ``KeyFileError`` naming ``file`` when malformed."""
        if not isinstance(data, dict) or data.get("format") != FILE_FORMAT:
            raise KeyFileError(detail="not a key file", file=file)
        keys_in, current = data.get("keys"), data.get("current")
        if not isinstance(keys_in, dict) or not keys_in or not isinstance(current, str):
            raise KeyFileError(detail="keys/current missing", file=file)
        keys: dict[str, bytes] = {}
        for key_id, text in keys_in.items():
            try:
                raw = _unb64(text) if isinstance(text, str) else b""
            except ValueError:
                raw = b""
            if not valid_key_id(key_id) or len(raw) != KEY_BYTES:
                raise KeyFileError(detail="malformed key entry", file=file)
            keys[key_id] = raw
        if current not in keys:
            raise KeyFileError(detail="current key id not among the keys", file=file)
        return cls.of(keys, current)

    @classmethod
    def load(cls, path: Path | str) -> KeyRing:
        """The ring in the key file at ``path``, refused unless only its owner can read it."""
        p = Path(path)
        try:
            st = p.stat()
        except OSError as exc:
            raise KeyFileError("codes.key_file_missing", f"{p}: {exc.strerror}", file=str(p)) from None
        if stat.S_IMODE(st.st_mode) & 0o077:
            raise KeyFileError("codes.key_file_mode", f"{p}: mode {stat.S_IMODE(st.st_mode):o}",
                               file=str(p), mode=f"{stat.S_IMODE(st.st_mode):o}")
        try:
            data = json.loads(read_input_text(p, 1_000_000))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise KeyFileError(detail=f"{p}: {type(exc).__name__}", file=str(p)) from None
        return cls.from_json(data, str(p))

    def save(self, path: Path | str, *, overwrite: bool = False) -> Path:
        """Write the ring to ``path`` with mode 0600 (created so, never widened on the way)."""
        p = Path(path)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
        try:
            fd = open_output(p, flags, 0o600)
        except FileExistsError:
            raise KeyFileError("codes.key_file_exists", str(p), file=str(p)) from None
        except OSError as exc:
            raise KeyFileError(detail=f"{p}: {exc.strerror}", file=str(p)) from None
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o600)
            json.dump(self.to_json(), f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        return p

    @classmethod
    def generate(cls, path: Path | str, *, overwrite: bool = False) -> KeyRing:
        """Create a key file with one fresh key at ``path`` (refuses to replace one unless asked)."""
        ring = cls.new()
        ring.save(path, overwrite=overwrite)
        return ring


def new_key_id() -> str:
    """A fresh random key id, e.g. ``k3f9a1c``."""
    return "k" + secrets.token_hex(3)
