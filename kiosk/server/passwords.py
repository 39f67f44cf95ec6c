"""Console passwords: scrypt from the standard library, with a salt per password.

Why scrypt and not argon2: it is in ``hashlib`` (OpenSSL), so the server needs no
compiled extra for its most sensitive code path, and it is memory-hard like
argon2. The parameters travel inside the stored string
(``scrypt$n$r$p$salt$hash``, base64 without padding), so raising them later
only makes ``needs_rehash`` true for older hashes; they are re-hashed at the
next successful login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

#: CPU/memory cost (2**15 with r=8 uses 32 MiB and takes ~0.1 s on a small server)
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16
_HASH_BYTES = 32
_MAXMEM = 128 * 1024 * 1024
#: longer passwords are refused before hashing (a megabyte password would only cost us time)
MAX_PASSWORD_CHARS = 256
MIN_PASSWORD_CHARS = 10


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=_HASH_BYTES)


def password_problem(password: str) -> str | None:
    """The strings key saying why ``password`` cannot be set, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_CHARS:
        return "console.password.too_short"
    if len(password) > MAX_PASSWORD_CHARS:
        return "console.password.too_long"
    if password.strip() != password:
        return "console.password.spaces"
    return None


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """The stored form of ``password`` (a new random salt each time)."""
    salt = secrets.token_bytes(_SALT_BYTES)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(_derive(password, salt, n, r, p))}"


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return None
    if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or n * r > 2**24:
        return None  # a damaged row must not make us allocate gigabytes
    return n, r, p, salt, digest


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time compare; False for a damaged hash)."""
    parsed = _parse(stored)
    if parsed is None or len(password) > MAX_PASSWORD_CHARS:
        return False
    n, r, p, salt, digest = parsed
    return hmac.compare_digest(_derive(password, salt, n, r, p), digest)


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with other parameters than today's."""
    parsed = _parse(stored)
    return parsed is None or parsed[:3] != (SCRYPT_N, SCRYPT_R, SCRYPT_P)


#: verified against when the account does not exist, so a wrong name takes as long as a wrong password
DUMMY_HASH = "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
