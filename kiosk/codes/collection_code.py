"""What a collection code says once read, why one is refused, and the last-four check.

A ``CollectionCode`` is the same whatever format it came in; formats
(``kiosk.codes``) turn a scanned payload into one or raise one of the
``CodeError`` subclasses below, each carrying the message for the student.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from kiosk.errors import KioskError


class CodeError(KioskError):
    """A collection code that cannot be used at this station."""

    default_key = "code.invalid"


class NotACode(CodeError):
    """The QR holds something else: a URL, plain text, a product barcode, junk."""

    default_key = "code.not_a_code"


class DamagedCode(CodeError):
    """It looks like a collection code but does not decrypt or parse: damaged or tampered."""

    default_key = "code.damaged"


class UnknownKey(CodeError):
    """The code was issued with a key this station does not hold."""

    default_key = "code.unknown_key"


class WrongBatch(CodeError):
    """A valid code of another school than today's batch."""

    default_key = "code.wrong_batch"


class ExpiredCode(CodeError):
    """The code was issued too long ago (or, by the station's clock, in the future)."""

    default_key = "code.expired"


class CodeLocked(CodeError):
    """Too many wrong last-four entries for this code on this station."""

    default_key = "code.locked"


_SPACES = re.compile(r"\s+")


def normalise_last_four(text: str) -> str:
    """``text`` as the station compares last fours.

    Full-width forms become half-width (``３`` -> ``3``, ``（`` -> ``(``),
    ``x`` becomes ``X``, and every kind of space goes, the invisible ones too
    (zero-width spaces and joiners, a byte-order mark: format characters that
    text pasted from a chat or a web page carries).
    """
    folded = unicodedata.normalize("NFKC", text or "")
    visible = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")
    return _SPACES.sub("", visible).upper()


@dataclass(frozen=True)
class CollectionCode:
    """A student's collection code, decrypted and checked for well-formedness."""

    payload: str
    format: str
    student_uid: str
    school_code: str
    school_name: str
    student_number: str
    masked_name: str
    masked_id: str
    level: str
    issued_at: datetime

    @property
    def id_tail(self) -> str:
        """The visible last four characters of the ID number, normalised."""
        return normalise_last_four(self.masked_id)[-4:]

    def public_fields(self, *, hide_tail: bool = False) -> dict[str, Any]:
        """The masked fields, safe to show and to sync.

        ``masked_id`` shows the ID's last four, which is what the student must
        type: screens shown before the check passes ask for ``hide_tail=True``.
        """
        masked_id = self.masked_id
        if hide_tail:
            masked_id = "*" * len(masked_id)
        return {
            "format": self.format,
            "student_uid": self.student_uid,
            "school_code": self.school_code,
            "school_name": self.school_name,
            "student_number": self.student_number,
            "masked_name": self.masked_name,
            "masked_id": masked_id,
            "level": self.level,
            "issued_at": self.issued_at.isoformat(),
        }


class HasIdTail(Protocol):
    """Anything with a visible ID tail (a ``CollectionCode``)."""

    @property
    def id_tail(self) -> str:
        """The visible last four, normalised."""
        ...


def last_four_matches(code: HasIdTail, typed: str) -> bool:
    """Whether ``typed`` is the last four shown on ``code``.

    For tails with parentheses (``3(7)`` on Hong Kong, Macau and Taiwan
    documents) the digits alone are accepted too, since many keypads and
    phones make brackets awkward; the digits carry all the information.
    """
    tail = code.id_tail
    given = normalise_last_four(typed)
    if len(tail) != 4 or "*" in tail or not given:
        return False  # a code that does not show its tail proves nothing, whatever is typed
    if hmac.compare_digest(given.encode(), tail.encode()):
        return True
    if "(" in tail and "(" not in given and ")" not in given:
        bare = tail.replace("(", "").replace(")", "")
        return hmac.compare_digest(given.encode(), bare.encode())
    return False
