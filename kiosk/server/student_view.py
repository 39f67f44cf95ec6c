"""What the student's page shows, as plain data, and the pages rendered from it.

``StudentView`` is built from a record's stored fields and its batch by
``view_of``; the templates under ``templates/student/`` only lay it out. Only
masked fields ever reach a view: the masked name, the school, the level, the
last four digits of the student number, a masked phone number. Dates are shown
in the collection's local time zone (``[server] timezone``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.errors import KioskError
from kiosk.server.templating import render
from kiosk.tickets import display

#: the longest dispute reason kept (the same bound as a reviewer's reason)
DISPUTE_MAX = 500
#: the longest pasted collection code read from the access form
CODE_MAX = 4096

_TONES = {"approved": "ok", "confirmed": "ok", "rejected": "bad", "queued": "wait", "awaiting_code": "wait"}


@dataclass(frozen=True)
class StudentView:
    """One record as its student sees it."""

    record_id: str
    status: str
    captured_at: datetime
    station_id: str
    keep_until: date
    queue_position: int | None = None
    reason: str | None = None
    disputed: bool = False
    school: str = ""
    masked_name: str = ""
    number_tail: str = ""
    deadline: date | None = None
    confirmed_at: datetime | None = None
    confirmed_by: str | None = None
    notify_phone: str | None = None
    help_phone: str = ""
    help_hours: str = ""
    #: a codeless record's claim ticket as the server holds it, grouped (``ABCD-EFGH-J``), while it awaits its
    #: code: the server's own when another station's record already held the one shown at capture
    ticket: str = ""
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    @property
    def tone(self) -> str:
        """The colour class of the state line."""
        return _TONES.get(self.status, "wait")

    @property
    def short_id(self) -> str:
        """The record id's first eight characters, as the station's Done screen shows them."""
        return self.record_id[:8].upper()

    @property
    def captured_local(self) -> str:
        """The capture time in local time, to the minute."""
        return self.captured_at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    @property
    def confirmed_on(self) -> str:
        """The local date of the confirmation ("" when not confirmed)."""
        return self.confirmed_at.astimezone(self.zone).date().isoformat() if self.confirmed_at else ""

    @property
    def download_name(self) -> str:
        """The file name a phone saves the photo under."""
        return f"photo-{self.short_id}.jpg"


def mask_phone(phone: str) -> str:
    """``138****5678``: enough for a student to recognise their number, not enough to call it."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def tail(text: str, n: int = 4) -> str:
    """The last ``n`` characters of ``text`` (a student number is shown only by its end)."""
    return text[-n:] if text else ""


def batch_end(end_date: str, zone: ZoneInfo) -> datetime:
    """The moment a batch ends: midnight after its last day, local time."""
    day = date.fromisoformat(end_date)
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)


def keep_until(captured_at: datetime, retention_days: int, zone: ZoneInfo) -> date:
    """The last local day a record is kept."""
    return (captured_at + timedelta(days=retention_days)).astimezone(zone).date()


def view_of(row: Mapping[str, Any], batch: Any, *, retention_days: int, zone: ZoneInfo,
            queue_position: int | None, notify_phone: str | None) -> StudentView:
    """The view of a stored record ``row`` (records table columns) in ``batch`` (a ``Batch`` or None).

    ``notify_phone`` is the masked number when, and only when, a notification
    channel is configured and the student consented: the page never promises
    a message nobody will send.
    """
    code = row.get("code") or {}
    captured = datetime.fromisoformat(str(row["captured_at"]))
    confirmed = datetime.fromisoformat(str(row["confirmed_at"])) if row.get("confirmed_at") else None
    return StudentView(
        record_id=str(row["record_id"]), status=str(row["status"]), captured_at=captured,
        station_id=str(row["station_id"]), keep_until=keep_until(captured, retention_days, zone),
        queue_position=queue_position, reason=row.get("reason"), disputed=bool(row.get("dispute_reason")),
        school=str(code.get("school_name") or (batch.school_name if batch else "")),
        masked_name=str(code.get("masked_name") or ""), number_tail=tail(str(code.get("student_number") or "")),
        deadline=date.fromisoformat(batch.end_date) if batch else None,
        confirmed_at=confirmed, confirmed_by=row.get("confirmed_by"), notify_phone=notify_phone,
        help_phone=batch.help_phone if batch else "", help_hours=batch.help_hours if batch else "",
        ticket=_shown_ticket(row.get("ticket")) if row["status"] == "awaiting_code" else "", zone=zone)


def _shown_ticket(ticket: object) -> str:
    """A stored ticket grouped for people, or as stored when it is not one of ``kiosk.tickets``' (never a crash)."""
    if not isinstance(ticket, str) or not ticket:
        return ""
    try:
        return display(ticket)
    except KioskError:
        return ticket


@dataclass(frozen=True)
class Access:
    """How the page's forms and links reach the record again.

    With the link (``/s/{secret}``) every action sits under that path. With the
    collection code the page was a POST answer: its forms carry the code and the
    last four again (the student's own input, in their own browser), and the
    photo is inlined since there is no URL to fetch it from.
    """

    base: str
    hidden: Mapping[str, str]
    photo_src: str
    download_url: str

    def action(self, name: str) -> str:
        """The form target of ``name`` (confirm, dispute, download)."""
        return f"{self.base}/{name}"


def status_page(view: StudentView, access: Access, lang: str, done: str | None = None) -> str:
    """The student's page for ``view``; ``done`` names what just happened (confirmed, disputed)."""
    return render("student/status.html", lang, v=view, access=access, done=done, dispute_max=DISPUTE_MAX,
                  help_phone=view.help_phone, help_hours=view.help_hours)


def message_page(lang: str, heading_key: str, body_key: str, *, problem: bool = True, back_url: str = "",
                 show_access: bool = False, help_phone: str = "", help_hours: str = "",
                 params: Mapping[str, Any] | None = None, **more: Any) -> str:
    """A page with one message: not found, gone, refused; ``params``/``more`` fill the body's placeholders."""
    params = {**(params or {}), **more}
    return render("student/message.html", lang, heading_key=heading_key, body_key=body_key, params=params,
                  problem=problem, back_url=back_url, show_access=show_access, help_phone=help_phone,
                  help_hours=help_hours)


def record_page(lang: str, record_id: str, status: str, position: int | None, reason: str | None) -> str:
    """The status-only page of ``GET /api/v1/records/{id}`` (the record id is no key: no photo, no actions)."""
    return render("student/record.html", lang, status=status, position=position, reason=reason,
                  tone=_TONES.get(status, "wait"), short=record_id[:8].upper(), help_phone="", help_hours="")


def access_page(lang: str, problem_key: str | None = None, **problem_params: Any) -> str:
    """The form asking for the collection code and the last four."""
    return render("student/access.html", lang, problem_key=problem_key, problem_params=problem_params,
                  code_max=CODE_MAX, help_phone="", help_hours="")


