"""The flow's vocabulary: states, events and effects, all frozen dataclasses.

Import these names from ``kiosk.flow`` (which re-exports them); this module
only keeps the transitions' file short. States carry what their screen shows;
events are what happened; effects are what the controller must do.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kiosk.batch import Batch
from kiosk.config import FlowSection

if TYPE_CHECKING:
    from kiosk.codes import CollectionCode
    from kiosk.portrait.standard import StandardPhoto

MENU_CODELESS = "codeless"
MENU_BIND = "bind"
MENU_STATUS = "status"
MENU_BATCH = "batch"
MENU_STATS = "stats"
MENU_QUIT = "quit"
MENU_TICKETS = "tickets"
MENU_HEADWEAR = "headwear"  # religious or medical headwear allowed for the next capture only
MENU_HELP_DONE = "help_done"  # staff acknowledge the open call for help
#: the operator menu, in the order the screen lists it (MENU_HELP_DONE shows only while a call is open)
MENU_ITEMS = (MENU_CODELESS, MENU_BIND, MENU_TICKETS, MENU_HEADWEAR, MENU_STATUS, MENU_BATCH, MENU_STATS,
              MENU_QUIT)


# ---------------------------------------------------------------------------
# Data carried by states


@dataclass(frozen=True)
class Context:
    """What outlives a session: settings, today's batch, the station's condition."""

    settings: FlowSection
    batch: Batch | None = None
    demo_pin: bool = False  # no PIN configured: the demo PIN 0000 opens operator mode
    camera_ok: bool = True
    staff_alert: str | None = None  # reason of a call for staff not yet acknowledged (shown on every screen)
    public_url: str = ""  # the server's address as students' phones reach it (status and bind pages)
    #: retakes each student has used in this batch, by ``retake_digest``: waiting out a timeout does not
    #: reset them, and the station passes in those it stored, so neither does a restart
    retakes_used: tuple[tuple[str, int], ...] = ()
    #: staff allowed religious or medical headwear for the next capture; ends with that session
    headwear_leave: bool = False

    def retake_digest(self, key: str) -> str:
        """How the student with ``key`` is counted in this batch (see ``retake_digest``)."""
        return retake_digest(self.batch.feature_code if self.batch is not None else "", key)

    def retakes_of(self, key: str | None) -> int:
        """Retakes the student with ``key`` has used in this batch (0 for an unknown or no key)."""
        return dict(self.retakes_used).get(self.retake_digest(key), 0) if key else 0

    def with_retake(self, key: str | None) -> Context:
        """This context with one more retake counted for ``key``."""
        if not key:
            return self
        used = dict(self.retakes_used)
        digest = self.retake_digest(key)
        used[digest] = used.get(digest, 0) + 1
        return dataclasses.replace(self, retakes_used=tuple(sorted(used.items())))


def retake_digest(batch_code: str, key: str) -> str:
    """A student's retake count's key: a digest of the batch and the student's ``retake_key``.

    The station stores counts under it, so its database never holds a
    student id for them.
    """
    return hashlib.sha256(f"retake|{batch_code}|{key}".encode()).hexdigest()[:32]


def merge_retakes(*counts: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
    """Retake counts from several sources as one: the highest count of each student wins."""
    merged: dict[str, int] = {}
    for source in counts:
        for digest, used in source:
            merged[digest] = max(used, merged.get(digest, 0))
    return tuple(sorted(merged.items()))


@dataclass(frozen=True)
class Student:
    """The student being captured: dropped from the state when the session ends."""

    code: CollectionCode | None  # None for a codeless capture
    id_last4: str
    codeless: bool = False
    phone: str = ""
    name: str = ""
    retakes: int = 0

    def retake_key(self) -> str | None:
        """Who this student is for the retake count: the code's student, or a codeless student's phone."""
        if self.code is not None:
            return f"uid:{self.code.student_uid}"
        # the phone number itself is not kept beyond the session: only a digest of it
        return "phone:" + hashlib.sha256(self.phone.encode()).hexdigest()[:16] if self.phone else None


@dataclass(frozen=True)
class Receipt:
    """What the Done screen shows about the saved record."""

    record_id: str
    short_id: str
    queue_position: int | None = None
    status_link: str = ""  # the status QR's text
    ticket: str | None = None  # claim ticket of a codeless record
    ticket_display: str = ""  # the ticket as typed, e.g. "ABCD-EFGH-J"
    ticket_link: str = ""  # the ticket QR's text: the phone bind page with the ticket filled in
    check_until: str = ""  # ISO date until which the student can check and confirm on the status page
    has_code: bool = False  # a phone number for the review result may be left (the server can match it)
    print_note: str | None = None  # strings key: the slip was not printed (printer error)


@dataclass(frozen=True)
class StatusView:
    """A student's review status as the status screen shows it."""

    short_id: str
    status: str  # pending (not uploaded yet), queued, approved, rejected, confirmed, awaiting_code
    queue_position: int | None = None
    reason: str | None = None
    refreshed: bool = False  # fresh from the server; False: the station's last known status


@dataclass(frozen=True)
class HealthItem:
    """One line of the station-status screen."""

    name: str  # camera, scanner, disk, queue, last_sync, server, token, batch (label: "flow.health.<name>")
    ok: bool
    detail: str = ""  # language-neutral figures: "12.3 GB", "3", a time
    note_key: str | None = None  # a strings-table key explaining a problem


# ---------------------------------------------------------------------------
# States


@dataclass(frozen=True, kw_only=True)
class State:
    """What every screen has: the context, the idle stamp, an inline error, a busy flag."""

    ctx: Context
    since: float | None = None  # monotonic time of the last activity, stamped by Tick
    error: str | None = None  # strings-table key shown inline
    error_params: tuple[tuple[str, str], ...] = ()  # placeholders of that string (schools, minutes)
    busy: bool = False  # an effect is running; the screen shows progress


@dataclass(frozen=True, kw_only=True)
class Welcome(State):
    """Batch, school, date and help; "start", "check my status", "no code"; a code shown here starts."""

    reading: str = ""  # while busy: what a code shown here was read for, "capture" or "status"


@dataclass(frozen=True, kw_only=True)
class Attract(State):
    """The idle station: the steps, large; any tap (or a code shown) begins."""


@dataclass(frozen=True, kw_only=True)
class Consent(State):
    """Before the camera: what is collected, why, for how long, who sees it; the dress rules; "agree"."""

    student: Student


@dataclass(frozen=True, kw_only=True)
class StillThere(State):
    """"Still there?" with a countdown before a timeout would discard ``resume``'s work."""

    resume: State = field(repr=False)
    left: int = 0  # whole seconds shown


@dataclass(frozen=True, kw_only=True)
class StatusShown(State):
    """A student's review status, looked up from a scanned code."""

    code: CollectionCode | None = None
    view: StatusView | None = None

    def may_start(self) -> bool:
        """Whether this student may start a capture from here (no record yet, or rejected)."""
        return self.view is None or self.view.status == "rejected"


@dataclass(frozen=True, kw_only=True)
class ScanCode(State):
    """Live preview while the student shows their collection code."""

    staff_called: bool = False
    unconfirmed: CollectionCode | None = None  # a good code the server could not be asked about: staff decide
    locked: CollectionCode | None = None  # the code just locked by wrong last fours: staff may unlock it


@dataclass(frozen=True, kw_only=True)
class Verify(State):
    """Keypad for the last four characters of the ID number."""

    code: CollectionCode
    typed: str = ""
    tries_left: int | None = None  # shown after a miss


@dataclass(frozen=True, kw_only=True)
class Confirm(State):
    """Masked name, school and student number: "that's me" or "not me"."""

    student: Student


@dataclass(frozen=True, kw_only=True)
class FeeNotice(State):
    """The batch's fee note, shown only when the batch requires a fee."""

    student: Student


@dataclass(frozen=True, kw_only=True)
class Capture(State):
    """Mirrored preview with the oval guide, live hints and the countdown."""

    student: Student
    phase: str = "waiting"  # waiting | holding | countdown | shoot
    count: int = 0  # countdown number shown
    hint_key: str | None = None
    progress: float = 0.0  # 0-1 through holding and countdown


@dataclass(frozen=True, kw_only=True)
class Review(State):
    """The standard photo: retake (up to the limit) or accept."""

    student: Student
    photo: StandardPhoto = field(repr=False)

    @property
    def retakes_left(self) -> int:
        """Retakes the student may still ask for."""
        return max(0, self.ctx.settings.max_retakes - self.student.retakes)


@dataclass(frozen=True, kw_only=True)
class Saving(State):
    """The record is being made durable; on failure says so and offers retry."""

    student: Student
    photo: StandardPhoto = field(repr=False)
    staff_called: bool = False


@dataclass(frozen=True, kw_only=True)
class Done(State):
    """The receipt: status-page QR, where and until when to check, or the claim ticket until staff confirm."""

    receipt: Receipt
    ticket_confirmed: bool = False  # staff saw the student keep the claim ticket (codeless only)
    contact_open: bool = False  # the phone keypad for a review-result notice is shown
    phone: str = ""  # typed for the notice (kept only with consent)
    contact_saved: bool = False
    ticket_replaced: bool = False  # the server gave the record another ticket while the student was here
    refreshed_at: float | None = None  # when the station was last asked what sync knows of the record

    @property
    def may_finish(self) -> bool:
        """A codeless student's ticket stays on screen until staff confirm the student has it."""
        return self.receipt.ticket is None or self.ticket_confirmed


@dataclass(frozen=True, kw_only=True)
class PinEntry(State):
    """Operator PIN keypad."""

    typed: str = ""
    tries_left: int | None = None
    locked_minutes: int | None = None  # operator mode is locked this much longer
    resume: CollectionCode | None = None  # staff let this student go on (the server could not be asked)
    unlock: CollectionCode | None = None  # staff unlock this code (after checking the student's ID)


@dataclass(frozen=True, kw_only=True)
class OperatorMenu(State):
    """Operator mode's menu (``MENU_ITEMS``)."""

    notice: str | None = None  # an info message, e.g. "batch loaded"
    confirm_quit: bool = False  # "leave kiosk mode" was tapped once: the next tap leaves


@dataclass(frozen=True, kw_only=True)
class CodelessForm(State):
    """Phone number, ID last four and optional name, typed on a physical keyboard."""

    phone: str = ""
    id_last4: str = ""
    name: str = ""
    invalid_field: str | None = None


@dataclass(frozen=True, kw_only=True)
class BindTicket(State):
    """Binding a code to a codeless record: ticket, then code, then last four, then done."""

    stage: str = "ticket"  # ticket | code | last4 | confirm | override | done
    ticket_text: str = ""  # what the operator typed
    ticket: str | None = None  # the normalised ticket once found
    record_short_id: str = ""
    code: CollectionCode | None = None
    typed: str = ""
    tries_left: int | None = None
    receipt: Receipt | None = None
    record: RecordCard | None = None  # the codeless record as found: photo and masked name, for the operator
    mismatch: bool = False  # the last four typed at the codeless capture differ from the code's


@dataclass(frozen=True)
class RecordCard:
    """A codeless record as the operator sees it before binding or handing out its ticket again."""

    record_id: str
    short_id: str
    ticket: str
    ticket_display: str
    photo_path: str = ""  # the record's photo on this station ("" once deleted)
    masked_name: str = ""  # the name typed at capture, masked ("" when none was typed)
    phone_tail: str = ""  # the phone's last four, to tell records apart
    captured_at: str = ""  # local time, "06-01 09:30"
    has_code: bool = False
    ticket_replaced: bool = False  # the server gave a new ticket (another station made the same): tell the student


@dataclass(frozen=True, kw_only=True)
class TicketDesk(State):
    """Find a codeless record by phone number or ticket, list those waiting for a code, show a ticket again."""

    typed: str = ""
    mode: str = "phone"  # phone | ticket: which keypad is up
    records: tuple[RecordCard, ...] = ()
    listed: bool = False  # ``records`` is the list of records waiting for a code
    shown: RecordCard | None = None  # the record whose ticket is on screen


@dataclass(frozen=True, kw_only=True)
class StationStatus(State):
    """Camera, scanner, disk, queue, last sync, server, token."""

    items: tuple[HealthItem, ...] = ()


@dataclass(frozen=True, kw_only=True)
class BatchSetup(State):
    """Type a feature code; the batch is fetched when online, else read from the cache."""

    typed: str = ""
    loaded: Batch | None = None
    offline: bool = False  # the batch came from the cache


@dataclass(frozen=True, kw_only=True)
class Statistics(State):
    """Today's figures."""

    items: tuple[tuple[str, int], ...] = ()
