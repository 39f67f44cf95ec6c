"""A batch: one collection day, identified by its feature code (特征码)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from kiosk.errors import KioskError

_FEATURE_CODE = re.compile(r"^[A-Z0-9]{4,8}$")


class BatchError(KioskError):
    """A feature code or batch description that cannot be used."""

    default_key = "batch.invalid"


def normalise_feature_code(text: str) -> str:
    """The feature code upper-cased and stripped; ``BatchError`` unless 4-8 letters/digits."""
    code = text.strip().upper()
    if not _FEATURE_CODE.match(code):
        raise BatchError("batch.bad_feature_code", f"len={len(code)}")
    return code


@dataclass(frozen=True)
class Batch:
    """What a station needs to know about today's collection day."""

    feature_code: str
    school_code: str
    school_name: str
    start_date: str  # ISO date, first day of the collection
    end_date: str  # ISO date, last day
    hours: str = "08:30-17:00"
    fee_required: bool = False
    fee_note: str = ""  # shown on the fee notice when fee_required
    methods: list[str] = field(default_factory=lambda: ["code", "codeless"])
    background: str = "blue"
    help_phone: str = ""
    help_hours: str = ""

    def allows(self, method: str) -> bool:
        """Whether capture method ``method`` ("code" or "codeless") is allowed."""
        return method in self.methods

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the wire and cache form)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Batch:
        """A batch from its JSON form; ``BatchError`` when fields are missing or wrong."""
        try:
            known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
            batch = cls(**known)
            normalise_feature_code(batch.feature_code)
        except (TypeError, KeyError, AttributeError) as exc:
            # AttributeError: a feature code that is not text (a number, a list) in a server's answer
            raise BatchError(detail=type(exc).__name__) from None
        texts = (batch.school_code, batch.school_name, batch.start_date, batch.end_date, batch.hours,
                 batch.fee_note, batch.background, batch.help_phone, batch.help_hours)
        if (not all(isinstance(t, str) for t in texts) or not isinstance(batch.fee_required, bool)
                or not isinstance(batch.methods, list) or not all(isinstance(m, str) for m in batch.methods)):
            raise BatchError(detail="field of wrong type")
        return batch
