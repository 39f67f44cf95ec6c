"""Review results sent to students who left a phone number: the notifier interface and its two channels.

A review decision writes a row in the notification outbox in the same
transaction as the decision itself (``kiosk.server.outbox``), so a result is
never lost and never sent for a decision that was rolled back. A dispatcher then
hands each pending row to the configured ``Notifier``:

* ``OutboxNotifier`` (``notifier = "outbox"``), the reference: the outbox table is
  the hand-over point an SMS gateway reads; delivering only writes a log line.
* ``WebhookNotifier`` (``notifier = "webhook"``): POSTs the notice as JSON to a
  configured URL, signed with HMAC-SHA256 so the receiver can tell it came from
  this server (headers ``X-Kiosk-Timestamp`` and ``X-Kiosk-Signature:
  sha256=<hex of HMAC(key, timestamp + "." + body)>``).

With ``notifier = "none"`` no row is written and no page mentions a message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import requests

from kiosk.config import ServerSection
from kiosk.errors import KioskError
from kiosk.text import text

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Kiosk-Signature"
TIMESTAMP_HEADER = "X-Kiosk-Timestamp"


class NotifyError(KioskError):
    """A notice could not be handed to its channel (it stays pending and is tried again)."""

    default_key = "student.notify.failed"


class NotifierConfigError(KioskError):
    """The configured notifier cannot be used (no URL, unreadable key file)."""

    default_key = "student.notify.misconfigured"


@dataclass(frozen=True)
class Notice:
    """One review result for one student's phone."""

    notice_id: int
    record_id: str
    phone: str
    status: str
    reason: str | None
    created_at: datetime

    def message(self, lang: str = "zh") -> str:
        """The text message, in ``lang``."""
        key = f"student.notify.{self.status}"
        return text(key, lang, reason=self.reason or "", short=self.record_id[:8].upper())

    def to_json(self) -> dict[str, object]:
        """The webhook body."""
        return {"notice_id": self.notice_id, "record_id": self.record_id, "phone": self.phone,
                "status": self.status, "reason": self.reason, "created_at": self.created_at.isoformat(),
                "message_zh": self.message("zh"), "message_en": self.message("en")}


class Notifier(Protocol):
    """A channel that delivers notices to students' phones."""

    name: str

    def deliver(self, notice: Notice) -> None:
        """Hand ``notice`` over; ``NotifyError`` when it must be tried again later."""


class OutboxNotifier:
    """The reference channel: the outbox row is the delivery (an SMS gateway reads the table)."""

    name = "outbox"

    def deliver(self, notice: Notice) -> None:
        """Log the hand-over (never the phone number)."""
        log.info("notify.outbox notice=%d record=%s status=%s", notice.notice_id, notice.record_id, notice.status)


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def verify(key: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is this server's for ``body`` (a receiver's check, constant time)."""
    return hmac.compare_digest(sign(key, timestamp, body), signature)


class WebhookNotifier:
    """POSTs each notice as signed JSON to ``url``; any answer but 2xx leaves it pending."""

    name = "webhook"

    def __init__(self, url: str, key: bytes, *, timeout_s: float = 10.0,
                 session: requests.Session | None = None) -> None:
        self.url = url
        self._key = key
        self._timeout = timeout_s
        self._session = session or requests.Session()

    def deliver(self, notice: Notice) -> None:
        """POST ``notice``; ``NotifyError`` on a network error or a non-2xx answer."""
        body = json.dumps(notice.to_json(), ensure_ascii=False, sort_keys=True).encode()
        stamp = str(int(notice.created_at.timestamp()))
        headers = {"Content-Type": "application/json; charset=utf-8", TIMESTAMP_HEADER: stamp,
                   SIGNATURE_HEADER: sign(self._key, stamp, body)}
        try:
            answer = self._session.post(self.url, data=body, headers=headers, timeout=self._timeout)
        except requests.RequestException as exc:
            log.warning("notify.webhook_failed notice=%d error=%s", notice.notice_id, type(exc).__name__)
            raise NotifyError(detail=type(exc).__name__) from None
        if not 200 <= answer.status_code < 300:
            log.warning("notify.webhook_refused notice=%d status=%d", notice.notice_id, answer.status_code)
            raise NotifyError(detail=f"HTTP {answer.status_code}")
        log.info("notify.webhook_sent notice=%d record=%s status=%s", notice.notice_id, notice.record_id,
                 notice.status)


def read_key_file(path: Path) -> bytes:
    """The webhook key: the file's stripped contents; it must not be readable by others."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes().strip()
    except OSError as exc:
        raise NotifierConfigError(detail=f"{path}: {exc.strerror}", file=str(path)) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise NotifierConfigError(detail=f"{path}: mode must be 0600", file=str(path))
    if len(data) < 16:
        raise NotifierConfigError(detail=f"{path}: key shorter than 16 bytes", file=str(path))
    return data


def make_notifier(section: ServerSection) -> Notifier | None:
    """The notifier ``[server] notifier`` asks for; None for "none"."""
    if section.notifier == "outbox":
        return OutboxNotifier()
    if section.notifier == "webhook":
        if not section.notify_webhook_url.startswith(("https://", "http://")):
            raise NotifierConfigError(detail="notify_webhook_url must be an http(s) URL",
                                      file="notify_webhook_url")
        return WebhookNotifier(section.notify_webhook_url, read_key_file(section.notify_webhook_secret_file))
    return None
