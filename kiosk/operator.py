"""The operator PIN: its hash in the config, its check, and the lock after wrong tries.

The PIN is stored as ``pbkdf2_sha256$iterations$salt$hash`` (salt and hash in
URL-safe base64), so the config file never holds the PIN itself. An empty
``pin_hash`` means the demo PIN ``0000``; the operator screens say so (the
flow's ``demo_pin`` flag) so that nobody ships a station with it unknowingly.

``PinLock`` counts wrong PINs in a small JSON file in the data dir, so that
restarting the app does not reset the count; time comes from an injectable
wall clock (the lock must also hold across a reboot). A lock grows with each
lockout since the last right PIN (30 s, 1 min, 5 min, 15 min, up to
``[operator] lock_minutes``), so a tired operator's typos cost half a minute
while a guesser's cost hours; ``kiosk operator unlock`` on the machine lifts it
(a student at the screen cannot).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk import durable
from kiosk.config import OperatorSection
from kiosk.errors import KioskError

log = logging.getLogger(__name__)

ALGORITHM = "pbkdf2_sha256"
#: OWASP's 2023 figure for PBKDF2-HMAC-SHA256; about 0.3 s on a small station, once per PIN entry
ITERATIONS = 600_000
DEMO_PIN = "0000"
FILE_NAME = "operator_lock.json"
#: how long each successive lockout lasts (seconds), capped by ``lock_minutes``; the last repeats
LOCK_STEPS_S = (30.0, 60.0, 300.0, 900.0, 3600.0)


class PinError(KioskError):
    """A PIN that cannot be hashed (empty, or not digits)."""

    default_key = "operator.pin_invalid"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_pin(pin: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """``pbkdf2_sha256$iterations$salt$hash`` of ``pin`` (4-12 digits)."""
    pin = pin.strip()
    if not (4 <= len(pin) <= 12 and pin.isdigit() and pin.isascii()):
        raise PinError(detail=f"len={len(pin)}")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode("ascii"), salt, iterations)
    return f"{ALGORITHM}${iterations}${_b64(salt)}${_b64(digest)}"


def verify_pin(pin: str, hashed: str) -> bool:
    """Whether ``pin`` matches ``hashed``; an empty ``hashed`` accepts only the demo PIN.

    Compared in constant time; a malformed hash never matches (and is logged).
    """
    if not hashed:
        return hmac.compare_digest(pin.encode("utf-8"), DEMO_PIN.encode("ascii"))
    try:
        algorithm, iterations_text, salt_text, digest_text = hashed.split("$")
        iterations = int(iterations_text)
        salt, expected = _unb64(salt_text), _unb64(digest_text)
    except ValueError:
        log.error("operator.pin_hash_malformed")
        return False
    if algorithm != ALGORITHM or not 1 <= iterations <= 10_000_000:
        log.error("operator.pin_hash_malformed")
        return False
    given = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(given, expected)


def is_demo_pin(settings: OperatorSection) -> bool:
    """Whether operator mode opens with the demo PIN (no PIN configured)."""
    return not settings.pin_hash


@dataclass(frozen=True)
class PinResult:
    """The outcome of one PIN entry."""

    ok: bool
    tries_left: int  # wrong PINs still allowed before the lock
    locked_minutes: int = 0  # > 0: operator mode is locked this many more minutes


class PinLock:
    """Wrong operator PINs, persisted; ``max_attempts`` misses lock operator mode, longer each time (``LOCK_STEPS_S``).

    While locked, even the right PIN is refused: otherwise the lock would only
    slow a guesser down by the time it takes to notice it.
    """

    def __init__(self, path: Path | str, pin_hash: str = "", max_attempts: int = 5, lock_minutes: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.pin_hash = pin_hash
        self.max_attempts = max(1, int(max_attempts))
        self.lock_s = float(lock_minutes) * 60.0  # the longest lock
        self.clock = clock
        self._lock = threading.Lock()
        # what this process last counted: the file may not take a write (a full disk), the count must hold
        self._misses, self._until, self._locks = 0, 0.0, 0
        self._unsaved = False  # the last count could not be written: this process's count holds

    @classmethod
    def from_settings(cls, settings: OperatorSection, data_dir: Path | str,
                      clock: Callable[[], float] = time.time) -> PinLock:
        """The station's PIN lock in ``data_dir`` with the PIN and limits of ``settings``."""
        return cls(Path(data_dir) / FILE_NAME, settings.pin_hash, settings.max_attempts, settings.lock_minutes, clock)

    @property
    def demo(self) -> bool:
        """Whether the demo PIN is in use."""
        return not self.pin_hash

    def lock_for(self, locks: int) -> float:
        """Seconds of the ``locks``-th lockout (1-based) since the last right PIN."""
        step = LOCK_STEPS_S[min(max(locks, 1), len(LOCK_STEPS_S)) - 1]
        return min(step, self.lock_s)

    def _read(self) -> tuple[int, float, int]:
        misses, until, locks = self._read_file()
        if not self._unsaved:
            # the file is the truth: ``kiosk operator unlock`` (another process) may have reset it
            return misses, until, locks
        return max(misses, self._misses), max(until, self._until), max(locks, self._locks)

    def _read_file(self) -> tuple[int, float, int]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
            return int(data["misses"]), float(data["locked_until"]), int(data.get("locks", 0))
        except FileNotFoundError:
            return 0, 0.0, 0
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # an unreadable lock file must not open the door: lock afresh, which also repairs the file
            log.error("operator.lock_file_unreadable error=%s", type(exc).__name__)
            until = self.clock() + self.lock_s
            self._write(0, until, len(LOCK_STEPS_S))
            return 0, until, len(LOCK_STEPS_S)

    def _write(self, misses: int, locked_until: float, locks: int = 0) -> None:
        self._misses, self._until, self._locks = misses, locked_until, locks
        data = json.dumps({"misses": misses, "locked_until": locked_until, "locks": locks}).encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            durable.write_file(self.path, data)
            self._unsaved = False
        except OSError as exc:
            self._unsaved = True
            log.error("operator.lock_file_write_failed errno=%s", exc.errno)

    def locked_minutes(self) -> int:
        """Minutes operator mode stays locked (0: not locked)."""
        _, until, _ = self._read()
        left = until - self.clock()
        return max(1, math.ceil(left / 60.0)) if left > 0 else 0

    def unlock(self) -> bool:
        """Lift the lock and forget the misses (``kiosk operator unlock`` on the machine); whether it was locked."""
        with self._lock:
            _, until, _ = self._read_file()
            was_locked = until > self.clock() or self._until > self.clock()
            self._write(0, 0.0, 0)
        log.warning("operator.unlocked was_locked=%d", int(was_locked))
        return was_locked

    def attempt(self, pin: str) -> PinResult:
        """Check ``pin``; count a miss, lock after too many (longer each time), clear everything on success."""
        with self._lock:
            misses, until, locks = self._read()
            now = self.clock()
            if until > now:
                log.warning("operator.pin_refused locked=1")
                return PinResult(False, 0, max(1, math.ceil((until - now) / 60.0)))
            if until:  # the lock ran out: a fresh set of tries, but the next lock will be longer
                misses = 0
            if verify_pin(pin, self.pin_hash):
                if misses or until or locks:
                    self._write(0, 0.0, 0)
                log.info("operator.pin_ok demo=%d", int(self.demo))
                return PinResult(True, self.max_attempts)
            misses += 1
            if misses >= self.max_attempts:
                locks += 1
                lock_s = self.lock_for(locks)
                self._write(0, now + lock_s, locks)
                log.warning("operator.locked seconds=%.0f lockouts=%d", lock_s, locks)
                return PinResult(False, 0, max(1, math.ceil(lock_s / 60.0)))
            self._write(misses, 0.0, locks)
            log.info("operator.pin_wrong tries_left=%d", self.max_attempts - misses)
            return PinResult(False, self.max_attempts - misses)

