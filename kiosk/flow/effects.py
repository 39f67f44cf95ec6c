"""The flow's effects: what the controller (``kiosk.station``) must do.

Import these names from ``kiosk.flow``, which re-exports them. Each effect
names the events its execution yields; ``slow`` effects belong on a worker
thread, the others are cheap enough for the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from kiosk.batch import Batch
from kiosk.flow.states import Receipt, Student

if TYPE_CHECKING:
    from kiosk.codes import CollectionCode


# ---------------------------------------------------------------------------
# Effects


@dataclass(frozen=True)
class Effect:
    """Something for the controller to do; ``slow`` ones belong on a worker thread."""

    slow: ClassVar[bool] = True


@dataclass(frozen=True)
class ParseCode(Effect):
    """Parse a scanned payload with the codebook -> CodeAccepted | CodeRejected.

    ``purpose`` "capture" and "bind" check the code against ``batch`` and the
    attempt lock; "status" only reads it (any school, locked or not).
    """

    payload: str = field(repr=False)
    batch: Batch | None = None
    purpose: str = "capture"  # capture | status | bind


@dataclass(frozen=True)
class CheckLastFour(Effect):
    """Check typed last four against the code -> LastFourOk | LastFourWrong | CodeLockedOut | LastFourUnchecked."""

    code: CollectionCode = field(repr=False)
    typed: str = field(repr=False)


@dataclass(frozen=True)
class LookupStatus(Effect):
    """The code's record status, local then server -> StatusFound | StatusNotFound | StatusUnavailable."""

    code: CollectionCode = field(repr=False)
    batch: str = ""  # the feature code to ask the server in (today's batch)


@dataclass(frozen=True)
class LookupReceipt(Effect):
    """What sync knows of the saved record (queue position, the server's ticket) -> ReceiptRefreshed | nothing."""

    record_id: str


@dataclass(frozen=True)
class PrintSlip(Effect):
    """Print ``receipt``'s slip again (its ticket was replaced) when a printer is set -> SlipFailed | nothing."""

    receipt: Receipt


@dataclass(frozen=True)
class StartCamera(Effect):
    """Frames are now for ``purpose`` ("scan" or "portrait"); resets debounce and auto-capture."""

    slow: ClassVar[bool] = False
    purpose: str
    allow_headwear: bool = False  # "portrait" under the staff's headwear leave: the analyser lets headwear pass


@dataclass(frozen=True)
class StopCamera(Effect):
    """No screen needs frames analysed now."""

    slow: ClassVar[bool] = False


@dataclass(frozen=True)
class TakePhoto(Effect):
    """Make the standard photo from ``capture`` (None: the latest frame) -> PhotoReady | PhotoFailed."""

    capture: Any = field(default=None, repr=False, compare=False)
    analysis: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class SaveRecord(Effect):
    """Write the record durably -> Saved | SaveFailed."""

    student: Student = field(repr=False)
    photo: Any = field(repr=False, compare=False)
    batch: Batch | None = None
    headwear_allowed: bool = False  # taken under the staff's headwear leave: marked on the record


@dataclass(frozen=True)
class CallStaff(Effect):
    """Ask for a staff member (the screen shows it; a hook may ring)."""

    slow: ClassVar[bool] = False
    reason: str  # no_code | code_locked | camera_lost | save_failed


@dataclass(frozen=True)
class CountRetake(Effect):
    """Keep a student's retake count of this batch, so that it outlives a restart (nothing waits on it)."""

    digest: str  # ``Context.retake_digest``: never the student's id
    batch: str  # the feature code ("" with no batch set)
    used: int


@dataclass(frozen=True)
class WipeSession(Effect):
    """Forget everything about the student outside the state (frames, photos, widgets)."""

    slow: ClassVar[bool] = False


@dataclass(frozen=True)
class CheckPin(Effect):
    """Check the operator PIN against the lock -> PinAccepted | PinRejected | PinLockedOut."""

    pin: str = field(repr=False)


@dataclass(frozen=True)
class CheckCodeless(Effect):
    """Validate the codeless form -> CodelessOk | CodelessInvalid | CodelessUnchecked."""

    slow: ClassVar[bool] = False
    phone: str = field(repr=False)
    id_last4: str = field(repr=False)
    name: str = field(default="", repr=False)


@dataclass(frozen=True)
class FindTicket(Effect):
    """Find the codeless record of a scanned or typed ticket -> TicketFound | TicketRejected."""

    text: str = field(repr=False)


@dataclass(frozen=True)
class BindCode(Effect):
    """Check the last four (-> BindChecked | BindFailed); with ``confirmed``, bind (-> Bound | BindFailed).

    ``override``: the operator confirmed twice that a record whose capture-time
    last four differ from the code's is this student's (audited).
    """

    ticket: str
    code: CollectionCode = field(repr=False)
    typed: str = field(repr=False)
    confirmed: bool = False
    override: bool = False


@dataclass(frozen=True)
class FetchBatch(Effect):
    """Today's batch, from the server when online, else the cache -> BatchLoaded | BatchFailed."""

    feature_code: str


@dataclass(frozen=True)
class GatherHealth(Effect):
    """The station-status lines -> HealthReported."""

    camera_ok: bool = True  # as the flow last heard from the grabber


@dataclass(frozen=True)
class LoadStats(Effect):
    """Today's figures -> StatsLoaded."""


@dataclass(frozen=True)
class Quit(Effect):
    """Leave kiosk mode (the app closes its window)."""

    slow: ClassVar[bool] = False


@dataclass(frozen=True)
class AcknowledgeHelp(Effect):
    """Staff have come: mark the open calls for help acknowledged -> HelpAcknowledged."""


@dataclass(frozen=True)
class SaveContact(Effect):
    """Keep a phone number, given with consent, for the review-result notice -> ContactSaved | ContactRefused."""

    record_id: str
    phone: str = field(repr=False)


@dataclass(frozen=True)
class FindRecords(Effect):
    """Codeless records by phone number or ticket (``query``), or waiting for a code (empty) -> RecordsFound."""

    query: str = field(repr=False)
    mode: str = "phone"  # phone | ticket | waiting


@dataclass(frozen=True)
class UnlockCode(Effect):
    """Lift the last-four lock of a code, by staff after checking the student's ID -> CodeUnlocked (audited)."""

    code: CollectionCode = field(repr=False)


@dataclass(frozen=True)
class GrantHeadwear(Effect):
    """Staff allowed (or withdrew) religious or medical headwear for the next capture: audited -> nothing."""

    slow: ClassVar[bool] = False
    granted: bool = True
