"""The flow's events of staff work: calls for help, status from the server, binding checks, the ticket
desk, the student's notice number. Import them from ``kiosk.flow``, which re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kiosk.flow.events import Event
from kiosk.flow.states import RecordCard

if TYPE_CHECKING:
    from kiosk.codes import CollectionCode





@dataclass(frozen=True)
class HelpAcknowledged(Event):
    """Staff acknowledged the open calls for help (stored; the server hears of it by sync)."""


@dataclass(frozen=True)
class HelpUnacknowledged(Event):
    """The acknowledgement could not be stored; ``error_key`` says why (the call stays open)."""

    error_key: str


@dataclass(frozen=True)
class CodeUnconfirmed(Event):
    """A good code with no record here, but the server could not be asked whether one exists elsewhere."""

    code: CollectionCode = field(repr=False)


@dataclass(frozen=True)
class StaffOverrideTapped(Event):
    """Staff take a decision the station could not take alone (continue without the server, bind anyway)."""


@dataclass(frozen=True)
class TicketHandedTapped(Event):
    """Staff confirm the codeless student has the claim ticket (photo of the screen or the printed slip)."""


@dataclass(frozen=True)
class ContactTapped(Event):
    """"Notify me of the result": opens the phone keypad on Done."""


@dataclass(frozen=True)
class ContactSaved(Event):
    """The phone number for the review-result notice is stored."""

    def is_activity(self) -> bool:
        """Never: a worker result."""
        return False


@dataclass(frozen=True)
class ContactRefused(Event):
    """The phone number was not kept; ``error_key`` says why."""

    error_key: str


@dataclass(frozen=True)
class BindChecked(Event):
    """The code's last four is right; ``mismatch``: it differs from the one typed at the codeless capture."""

    mismatch: bool
    record: RecordCard


@dataclass(frozen=True)
class RecordsFound(Event):
    """Codeless records for the ticket desk (found, or the list of those waiting for a code)."""

    records: tuple[RecordCard, ...]
    listed: bool = False


@dataclass(frozen=True)
class RecordChosen(Event):
    """The operator picked a record from the ticket desk's list (its index there)."""

    index: int


@dataclass(frozen=True)
class RecordsUnavailable(Event):
    """The ticket desk's search failed; ``error_key`` says why."""

    error_key: str


@dataclass(frozen=True)
class CodeUnlocked(Event):
    """Staff lifted the code's last-four lock (audited); the student may type the last four again."""
