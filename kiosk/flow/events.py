"""The flow's events: what a person, a worker or the clock did.

Import these names from ``kiosk.flow``, which re-exports them. Events with
personal data keep it out of their ``repr`` so that a logged event is safe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kiosk.batch import Batch
from kiosk.flow.states import HealthItem, Receipt, StatusView

if TYPE_CHECKING:
    from kiosk.codes import CollectionCode


# ---------------------------------------------------------------------------
# Events


@dataclass(frozen=True)
class Event:
    """Something that happened; most events are a person's doing and restart the idle clock."""

    def is_activity(self) -> bool:
        """Whether this event restarts the idle timeout."""
        return True


@dataclass(frozen=True)
class Tick(Event):
    """The clock: ``now`` in monotonic seconds. Send one every half second or so."""

    now: float

    def is_activity(self) -> bool:
        """Never: a tick is what measures idleness."""
        return False


@dataclass(frozen=True)
class CameraLost(Event):
    """The grabber lost the camera."""

    def is_activity(self) -> bool:
        """Never."""
        return False


@dataclass(frozen=True)
class CameraBack(Event):
    """The grabber has frames again."""

    def is_activity(self) -> bool:
        """Never (a resumed Capture restarts its idle window itself)."""
        return False


@dataclass(frozen=True)
class StartTapped(Event):
    """Welcome's "start" (or "start capture" on the status screen)."""


@dataclass(frozen=True)
class StatusTapped(Event):
    """Welcome's "check my review status"."""


@dataclass(frozen=True)
class NoCodeTapped(Event):
    """"No code?" / "call staff"."""


@dataclass(frozen=True)
class BackTapped(Event):
    """Back / cancel."""


@dataclass(frozen=True)
class NotMeTapped(Event):
    """"Not me" on Confirm."""


@dataclass(frozen=True)
class ThatsMeTapped(Event):
    """"That's me" on Confirm."""


@dataclass(frozen=True)
class AgreeTapped(Event):
    """"Agree" on the consent notice: the student agrees to the photo being collected."""


@dataclass(frozen=True)
class ContinueTapped(Event):
    """"Continue" on "still there?": keep the session."""


@dataclass(frozen=True)
class FeeAcknowledged(Event):
    """"I understand" on the fee notice."""


@dataclass(frozen=True)
class ShutterTapped(Event):
    """Tap-to-shoot on Capture."""


@dataclass(frozen=True)
class RetakeTapped(Event):
    """Retake on Review."""


@dataclass(frozen=True)
class AcceptTapped(Event):
    """Accept on Review."""


@dataclass(frozen=True)
class RetryTapped(Event):
    """Retry after a failed save."""


@dataclass(frozen=True)
class FinishTapped(Event):
    """"Finish" on Done (or any result screen)."""


@dataclass(frozen=True)
class SubmitTapped(Event):
    """OK / submit on a keypad or form."""


@dataclass(frozen=True)
class OperatorRequested(Event):
    """The hidden operator gesture on Welcome."""


@dataclass(frozen=True)
class KeyPressed(Event):
    """A keypad key: a digit, X or a parenthesis."""

    key: str


@dataclass(frozen=True)
class BackspacePressed(Event):
    """Keypad backspace."""


@dataclass(frozen=True)
class ClearPressed(Event):
    """Keypad clear."""


@dataclass(frozen=True)
class FieldEdited(Event):
    """A text field's whole new value (physical keyboard): phone, id_last4, name, ticket, feature_code."""

    field: str
    value: str


@dataclass(frozen=True)
class MenuChosen(Event):
    """An operator-menu item (one of ``MENU_ITEMS``)."""

    item: str


@dataclass(frozen=True)
class CodeScanned(Event):
    """The scanner read a QR code (payload as decoded)."""

    payload: str = field(repr=False)


@dataclass(frozen=True)
class Guidance(Event):
    """Auto-capture's view of the latest frame."""

    phase: str  # waiting | holding | countdown | shoot
    count: int = 0
    hint_key: str | None = None
    face: bool = False  # someone is in front of the camera
    progress: float = 0.0  # 0-1 through holding and countdown, for a progress ring

    def is_activity(self) -> bool:
        """Only when someone is in front of the camera."""
        return self.face


@dataclass(frozen=True)
class AutoShot(Event):
    """Auto-capture chose a capture (the sharpest of the last few frames)."""

    capture: Any = field(repr=False, compare=False)
    analysis: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class CodeAccepted(Event):
    """A scanned payload is a valid code of this batch, not locked."""

    code: CollectionCode = field(repr=False)


@dataclass(frozen=True)
class AlreadyCaptured(Event):
    """A valid code whose student already has a record on this station that is not rejected.

    The student is shown that record's status instead of a second capture:
    one student, one photo in review (a rejected one may be retaken).
    """

    code: CollectionCode = field(repr=False)
    view: StatusView


@dataclass(frozen=True)
class CodeRejected(Event):
    """A scanned payload cannot be used; ``error_key`` says why, ``params`` fill its message.

    The params name schools or minutes, never a student's data.
    """

    error_key: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LastFourOk(Event):
    """The last four match; ``id_last4`` is the normalised entry."""

    id_last4: str = field(repr=False)


@dataclass(frozen=True)
class LastFourWrong(Event):
    """The last four do not match; ``tries_left`` before the code locks."""

    tries_left: int


@dataclass(frozen=True)
class LastFourUnchecked(Event):
    """The last four could not be checked (the attempt lock failed); nothing was counted."""

    error_key: str


@dataclass(frozen=True)
class CodeLockedOut(Event):
    """Too many misses: the code is locked on this station."""


@dataclass(frozen=True)
class StatusFound(Event):
    """The student's record status."""

    view: StatusView


@dataclass(frozen=True)
class StatusNotFound(Event):
    """No record for this code, here or on the server."""


@dataclass(frozen=True)
class StatusUnavailable(Event):
    """The status could not be looked up (the station's records cannot be read); ``error_key`` says so."""

    error_key: str


@dataclass(frozen=True)
class PhotoReady(Event):
    """The standard photo was made from the capture."""

    photo: Any = field(repr=False, compare=False)


@dataclass(frozen=True)
class PhotoFailed(Event):
    """No photo from this capture; ``error_key`` is a hint ("step back") or a camera error."""

    error_key: str


@dataclass(frozen=True)
class Saved(Event):
    """The record is durable."""

    receipt: Receipt


@dataclass(frozen=True)
class SaveFailed(Event):
    """The record was not saved (disk full, ...): nothing is stored."""

    error_key: str


@dataclass(frozen=True)
class SlipFailed(Event):
    """The printer did not take the slip printed again after the ticket was replaced."""

    def is_activity(self) -> bool:
        """Never: a worker result."""
        return False


@dataclass(frozen=True)
class ReceiptRefreshed(Event):
    """The saved record as sync left it: its review-queue position, or the server's ticket after a clash."""

    receipt: Receipt

    def is_activity(self) -> bool:
        """Never: a worker result."""
        return False


@dataclass(frozen=True)
class PinAccepted(Event):
    """The operator PIN is right."""


@dataclass(frozen=True)
class PinRejected(Event):
    """The operator PIN is wrong."""

    tries_left: int


@dataclass(frozen=True)
class PinLockedOut(Event):
    """Operator mode is locked for ``minutes`` more."""

    minutes: int


@dataclass(frozen=True)
class CodelessOk(Event):
    """The codeless form is valid; values normalised."""

    phone: str = field(repr=False)
    id_last4: str = field(repr=False)
    name: str = field(default="", repr=False)


@dataclass(frozen=True)
class CodelessInvalid(Event):
    """A codeless-form field is wrong."""

    field: str
    error_key: str


@dataclass(frozen=True)
class CodelessUnchecked(Event):
    """The codeless form could not be checked (the check itself failed); nothing was kept."""

    error_key: str


@dataclass(frozen=True)
class TicketFound(Event):
    """The claim ticket belongs to a codeless record waiting for its code."""

    ticket: str
    record_short_id: str


@dataclass(frozen=True)
class TicketRejected(Event):
    """A ticket that is mistyped, unknown or already bound."""

    error_key: str


@dataclass(frozen=True)
class Bound(Event):
    """The code is bound to the codeless record."""

    receipt: Receipt


@dataclass(frozen=True)
class BindFailed(Event):
    """Binding failed; ``tries_left`` after a wrong last four (0: the code is now locked)."""

    error_key: str
    tries_left: int | None = None


@dataclass(frozen=True)
class BatchLoaded(Event):
    """Today's batch; ``offline`` when it came from the cache."""

    batch: Batch
    offline: bool = False
    retakes: tuple[tuple[str, int], ...] = ()  # the retake counts the station kept for this batch


@dataclass(frozen=True)
class BatchFailed(Event):
    """No batch for that feature code, online or cached; ``params`` fill the message (the code)."""

    error_key: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class HealthReported(Event):
    """The station-status lines."""

    items: tuple[HealthItem, ...]


@dataclass(frozen=True)
class StatsLoaded(Event):
    """Today's figures as (name, value) pairs."""

    items: tuple[tuple[str, int], ...]
