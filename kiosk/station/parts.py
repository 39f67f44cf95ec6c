"""What the station controller needs of each collaborator, as Protocols, and ``StationParts`` holding them.

The real implementations (``kiosk.store.Store``, ``kiosk.codes.CodeBook``,
``kiosk.codes.attempts.AttemptLock``, ``kiosk.scanner.Scanner``,
``kiosk.portrait``) satisfy these structurally; tests pass small fakes that do
the same. Naming the methods here, rather than probing with ``getattr``, lets
mypy say when a part no longer fits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kiosk.batch import Batch
from kiosk.config import FlowSection, PortraitSection
from kiosk.flow.states import HealthItem
from kiosk.operator import PinLock

if TYPE_CHECKING:
    from kiosk.codes.collection_code import CollectionCode
    from kiosk.store.record import NewRecord, Record

#: pulls review status from the server into the store; raises or returns False when offline
StatusRefresh = Callable[[], object]


class RecordStore(Protocol):
    """What the station needs of ``kiosk.store.Store``."""

    data_dir: Path

    def add_record(self, new: NewRecord, photo_jpeg: bytes, original_jpeg: bytes | None = None) -> Record:
        """Write a record and its photo durably."""

    def get(self, record_id: str) -> Record | None:
        """The record with ``record_id``, or None."""

    def find_by_student(self, student_uid: str) -> list[Record]:
        """This student's records, newest first."""

    def find_by_ticket(self, ticket: str) -> Record | None:
        """The codeless record claimed with ``ticket`` now (the server's ticket after a clash)."""

    def replaced_ticket(self, ticket: str) -> Record | None:
        """The record captured with ``ticket`` whose ticket the server replaced."""

    def ticket_in_use(self, ticket: str) -> bool:
        """Whether any record holds ``ticket`` (made here or given by the server)."""

    def bind_code(self, ticket: str, code_payload: str, code_fields: dict[str, Any] | None,
                  student_uid: str | None, id_last4: str | None) -> Record:
        """Attach a collection code to the codeless record holding ``ticket``."""

    def stats(self, day: date) -> dict[str, int]:
        """Today's counts for the operator."""

    def queue_length(self) -> int:
        """Records not yet acknowledged by the server."""

    def raise_help(self, reason: str) -> Any:
        """Store a call for staff (pushed to the server by sync)."""

    def acknowledge_help(self, request_id: str | None = None) -> int:
        """Mark open calls for staff acknowledged."""

    def open_help(self) -> list[Any]:
        """Calls for staff not yet acknowledged, oldest first."""

    def set_contact(self, record_id: str, phone: str) -> Record:
        """Keep a phone number for the record's review-result notice."""

    def find_by_phone(self, phone: str) -> list[Record]:
        """Codeless records captured with this phone number."""

    def awaiting_code(self, limit: int = 50) -> list[Record]:
        """Codeless records still waiting for a code."""

    def audit(self, kind: str, detail: str = "", record_id: str | None = None) -> None:
        """Append an operator action to the station log."""

    def retakes(self, batch: str) -> tuple[tuple[str, int], ...]:
        """The retake counts kept for ``batch`` (by the flow's retake digest)."""

    def keep_retakes(self, digest: str, batch: str, used: int) -> int:
        """Keep a student's retake count of ``batch``."""


class CodeReader(Protocol):
    """What the station needs of ``kiosk.codes.CodeBook``."""

    def parse(self, payload: str, batch: Batch | None, now: datetime) -> CollectionCode:
        """The code in ``payload``, checked against ``batch`` when given; raises ``KioskError``."""


class AttemptCounter(Protocol):
    """What the station needs of ``kiosk.codes.attempts.AttemptLock``."""

    def check(self, code_uid: str, now: datetime) -> None:
        """Raise ``CodeLocked`` while the code is locked."""

    def miss(self, code_uid: str, now: datetime) -> int:
        """Count a wrong last four; the tries left (0: now locked)."""

    def clear(self, code_uid: str) -> None:
        """Forget the misses after a right last four."""


class Photo(Protocol):
    """What the station needs of ``kiosk.portrait.standard.StandardPhoto``."""

    @property
    def jpeg(self) -> bytes:
        """The standard photo."""

    @property
    def original_jpeg(self) -> bytes | None:
        """The head-and-shoulders original, if kept."""


class FrameAnalysis(Protocol):
    """What the station reads of ``kiosk.portrait.analysis.Analysis``."""

    @property
    def face(self) -> object | None:
        """The face found, None when nobody is there."""

    def first_hint(self) -> str | None:
        """The hint of the first failing check."""


class Analyzer(Protocol):
    """What the station needs of ``kiosk.portrait.analysis.Analyzer``."""

    def analyse(self, frame_bgr: Any, now: float | None = None, *, allow_headwear: bool = False) -> Any:
        """The face analysis of one frame (``now``: monotonic seconds, for smoothing).

        ``allow_headwear``: staff allowed religious or medical headwear for this capture.
        """

    def reset(self) -> None:
        """Forget smoothing carried over from earlier frames (a new person)."""


class ShotDecision(Protocol):
    """What the station reads of ``kiosk.portrait.autocapture.Shot``."""

    @property
    def phase(self) -> str:
        """waiting | holding | countdown | shoot."""

    @property
    def count(self) -> int:
        """The countdown number shown."""

    @property
    def hint_key(self) -> str | None:
        """The hint to show."""

    @property
    def frame(self) -> Any:
        """With phase "shoot" (or a tap), the frame to make the photo from."""

    @property
    def analysis(self) -> Any:
        """The analysis of ``frame``."""

    @property
    def progress(self) -> float:
        """0-1 through holding and countdown."""


class AutoCapture(Protocol):
    """What the station needs of ``kiosk.portrait.autocapture.AutoCapture``."""

    def update(self, analysis: Any, frame: Any, now: float) -> ShotDecision:
        """The shot decision after this frame."""

    def shoot_now(self) -> ShotDecision:
        """Tap-to-shoot: the sharpest recent frame with a face, or a hint."""


class Scanner(Protocol):
    """What the station needs of ``kiosk.scanner.Scanner``."""

    def feed(self, frame: Any, now: float) -> str | None:
        """The payload nearest the centre, debounced, or None."""

    def forget(self) -> None:
        """Drop the debounce's last payload (it is a student's)."""


class BatchSource(Protocol):
    """Where today's batch comes from (see ``kiosk.station.batches.BatchSource``)."""

    def current(self) -> Batch | None:
        """The batch this station was last set to, if any."""

    def load(self, feature_code: str) -> tuple[Batch, bool]:
        """The batch, fetched when online else cached; ``(batch, offline)``; raises ``KioskError``."""


#: makes the standard photo from a capture and its analysis; raises ``KioskError`` with a hint
MakePhoto = Callable[[Any, Any, PortraitSection], Photo]


@dataclass
class StationParts:
    """A station's collaborators; only ``store`` is needed for everything the store can answer."""

    station_id: str
    flow: FlowSection
    store: RecordStore
    codebook: CodeReader | None = None
    attempts: AttemptCounter | None = None
    pin_lock: PinLock | None = None
    batches: BatchSource | None = None
    scanner: Scanner | None = None
    analyzer: Analyzer | None = None
    make_autocapture: Callable[[], AutoCapture] | None = None
    make_photo: MakePhoto | None = None
    portrait: PortraitSection = field(default_factory=PortraitSection)
    refresh_status: StatusRefresh | None = None  # pulls review status from the server into the store
    health_probes: Mapping[str, Callable[[], HealthItem]] = field(default_factory=dict)
    call_staff: Callable[[str], None] | None = None
    status_url: str = ""  # the status QR's text, "{record_id}" filled in ([flow] status_url), without a public URL
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    public_url: str = ""  # the server as students' phones reach it: status and bind pages
    lookup_remote: Callable[[str, str], Any] | None = None  # (batch, student_uid) -> the server's record or None
    receipt_printer: str = ""  # ESC/POS device for the slip; empty: no printer
    help_phone: str = ""  # printed on the slip
    help_hours: str = ""
    check_days: int = 30  # the status page is the student's to check and confirm this long
