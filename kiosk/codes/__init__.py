"""Collection codes: format plug-ins, the code book that reads them, and the demo codes.

The real payload format of CHSI codes is not public, so a format is a plug-in:
an entry point in the group ``kiosk.code_formats`` naming a factory
``factory(settings: CodesSection, keys: KeyRing) -> CodeFormat``. The station
accepts the formats listed in ``[codes] formats``. The project ships the
``reference`` format (``kiosk.codes.reference_format``), which its own server issues.

``CodeBook.parse`` is the one door: it refuses what no format claims
(``NotACode``), lets the format decrypt and check its payload, then applies
the rules common to every format: the batch's school and the code's age.

The names other modules use live here: the code model and errors
(``kiosk.codes.collection_code``), the key ring (``kiosk.codes.keyring``), the attempt
lock (``kiosk.codes.attempts``) and reference issuing (``kiosk.codes.reference_format``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

from kiosk.batch import Batch
from kiosk.codes.attempts import AttemptLock
from kiosk.codes.collection_code import (
    CodeError,
    CodeLocked,
    CollectionCode,
    DamagedCode,
    ExpiredCode,
    NotACode,
    UnknownKey,
    WrongBatch,
    last_four_matches,
    normalise_last_four,
)
from kiosk.codes.keyring import KeyFileError, KeyRing
from kiosk.codes.reference_format import ReferenceFormat, issue_code, mask_id, mask_name
from kiosk.config import CodesSection, ConfigError

__all__ = [
    "AttemptLock", "CodeBook", "CodeError", "CodeFormat", "CodeLocked", "CollectionCode", "DamagedCode",
    "DemoStudent", "ExpiredCode", "KeyFileError", "KeyRing", "NotACode", "ReferenceFormat", "UnknownKey",
    "WrongBatch", "demo_codes", "issue_code", "last_four_matches", "load_formats", "looks_like_code",
    "mask_id", "mask_name", "normalise_last_four",
]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "kiosk.code_formats"
#: Longest payload worth trying; anything longer is not a collection code.
MAX_PAYLOAD = 2048


@runtime_checkable
class CodeFormat(Protocol):
    """One collection-code format."""

    name: str

    def claims(self, payload: str) -> bool:
        """Whether ``payload`` says it is in this format (cheap, no decryption)."""
        ...

    def parse(self, payload: str) -> CollectionCode:
        """The code in ``payload``, or a ``CodeError`` with the reason."""
        ...


def load_formats(settings: CodesSection, keys: KeyRing) -> list[CodeFormat]:
    """The formats named in ``settings.formats``, from their entry points, in that order."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    formats: list[CodeFormat] = []
    for name in settings.formats:
        ep = found.get(name)
        if ep is None:
            raise ConfigError(detail=f"codes.formats: unknown format {name}", file="kiosk.toml",
                              setting="codes.formats",
                              expected="installed formats: " + ", ".join(sorted(found)))
        fmt = ep.load()(settings, keys)
        if not isinstance(fmt, CodeFormat):
            raise ConfigError(detail=f"codes.formats: {name} is not a code format", file="kiosk.toml",
                              setting="codes.formats", expected="a code-format plug-in")
        formats.append(fmt)
    return formats


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _plausible_text(payload: object) -> bool:
    if not isinstance(payload, str) or not payload or len(payload) > MAX_PAYLOAD:
        return False
    return payload.isprintable()


class CodeBook:
    """Reads scanned payloads into ``CollectionCode``s, with every rule of this station."""

    def __init__(self, settings: CodesSection, keys: KeyRing,
                 formats: Sequence[CodeFormat] | None = None) -> None:
        self.settings = settings
        self.keys = keys
        self.formats = list(formats) if formats is not None else load_formats(settings, keys)
        self.max_age = timedelta(days=settings.max_age_days)
        self.skew = timedelta(minutes=settings.clock_skew_minutes)

    @classmethod
    def from_settings(cls, settings: CodesSection) -> CodeBook:
        """A code book with the key file of ``settings`` (required by the reference format)."""
        keys = KeyRing.load(settings.key_file) if "reference" in settings.formats else KeyRing.empty()
        return cls(settings, keys)

    def claims(self, payload: str) -> bool:
        """Whether some accepted format says ``payload`` is one of its codes."""
        text = payload.strip() if isinstance(payload, str) else payload
        return _plausible_text(text) and any(f.claims(text) for f in self.formats)

    def parse(self, payload: str, batch: Batch | None, now: datetime) -> CollectionCode:
        """The code in ``payload`` if it may be used for ``batch`` at ``now``; else a ``CodeError``."""
        try:
            code = self._parse(payload, batch, _aware(now))
        except CodeError as exc:
            log.info("code.refused reason=%s", exc.key)
            raise
        log.info("code.read format=%s", code.format)
        return code

    def _parse(self, payload: str, batch: Batch | None, now: datetime) -> CollectionCode:
        if isinstance(payload, str):
            payload = payload.strip()  # some generators end the text with a line break
        if not _plausible_text(payload):
            raise NotACode(detail="not printable text or too long")
        fmt = next((f for f in self.formats if f.claims(payload)), None)
        if fmt is None:
            raise NotACode(detail="no format claims it")
        code = fmt.parse(payload)
        if batch is not None and code.school_code != batch.school_code:
            raise WrongBatch(detail="school code differs", code_school=code.school_name,
                             batch_school=batch.school_name)
        issued = _aware(code.issued_at)
        if issued > now + self.skew:
            raise ExpiredCode("code.from_future", "issued after now")
        if now - issued > self.max_age:
            raise ExpiredCode(detail=f"age_days={(now - issued).days}")
        return code


def looks_like_code(text: str) -> bool:
    """Whether ``text`` has the shape of a reference-format code (no key needed)."""
    return _plausible_text(text) and ReferenceFormat().claims(text)


@dataclass(frozen=True)
class DemoStudent:
    """A made-up student with a reference code, for the demo and rehearsals."""

    payload: str
    last_four: str
    student_number: str
    masked_name: str


_DEMO_NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄婷", "周杰", "吴敏")
_DEMO_TAILS = ("123X", "4567", "0018", "3(7)", "9021", "552X", "7340", "2(A)", "8809", "1111")


def demo_codes(keyring: KeyRing, batch: Batch, n: int = 3,
               now: datetime | None = None) -> list[DemoStudent]:
    """``n`` made-up students of ``batch``'s school with codes sealed by ``keyring``."""
    issued = _aware(now or datetime.now(UTC))
    out: list[DemoStudent] = []
    for i in range(n):
        name = _DEMO_NAMES[i % len(_DEMO_NAMES)]
        tail = _DEMO_TAILS[i % len(_DEMO_TAILS)]
        number = f"2023{i + 1:06d}"
        masked_name = mask_name(name)
        id_number = ("M12345" + tail) if "(" in tail else ("11010519990101" + tail)
        payload = issue_code(keyring, {
            "student_uid": uuid.uuid5(uuid.NAMESPACE_URL, f"demo/{batch.feature_code}/{i}").hex,
            "school_code": batch.school_code, "school_name": batch.school_name,
            "student_number": number, "masked_name": masked_name, "masked_id": mask_id(id_number),
            "level": "本科", "issued_at": issued,
        })
        out.append(DemoStudent(payload=payload, last_four=tail, student_number=number, masked_name=masked_name))
    return out
