"""The notification outbox: review results queued with the decision, handed to the notifier after.

``enqueue`` runs inside the review decision's transaction: the row exists if and
only if the decision was committed. It writes a row only when the student left
a phone number with consent (``PUT /api/v1/records/{id}/contact``) and a
channel is configured. ``dispatch`` hands pending rows to the ``Notifier``
(oldest first) and records the hand-over or the failure; a failed row is tried
again by the next dispatch. Delivery is at least once: a receiver dedupes by
``notice_id``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from kiosk.server.db import Database
from kiosk.server.notify import Notice, Notifier, NotifyError
from kiosk.server.tables import notification_outbox, records

log = logging.getLogger(__name__)

#: how many pending notices one dispatch hands over at most
DISPATCH_LIMIT = 200


@dataclass
class DispatchReport:
    """What a dispatch did."""

    sent: int = 0
    failed: int = 0


class Outbox:
    """Queued review results and their hand-over to ``notifier``."""

    def __init__(self, db: Database, notifier: Notifier, clock: Callable[[], datetime], *,
                 dispatch_on_decision: bool = True) -> None:
        self._db = db
        self.notifier = notifier
        self._clock = clock
        #: whether a decision starts a dispatch at once (else only the periodic run dispatches)
        self.dispatch_on_decision = dispatch_on_decision
        self._lock = threading.Lock()

    def enqueue(self, conn: Connection, record_id: str, status: str, reason: str | None,
                now: datetime) -> int | None:
        """Queue the result ``status`` of ``record_id`` in ``conn``'s transaction; the notice id, or None.

        None when the student left no number or no consent: nothing is sent then.
        """
        row = conn.execute(select(records.c.contact_phone, records.c.contact_consent_at)
                           .where(records.c.record_id == record_id)).first()
        if row is None or not row.contact_phone or not row.contact_consent_at:
            return None
        notice_id = conn.execute(insert(notification_outbox).values(
            record_id=record_id, phone=row.contact_phone, status=status, reason=reason, created_at=now.isoformat(),
            channel=self.notifier.name, attempts=0).returning(notification_outbox.c.notice_id)).scalar_one()
        log.info("notify.queued notice=%d record=%s status=%s", notice_id, record_id, status)
        return int(notice_id)

    def kick(self) -> None:
        """Dispatch soon, in a background thread (a decision must not wait for an SMS gateway)."""
        if self.dispatch_on_decision:
            threading.Thread(target=self._dispatch_quietly, name="notify-dispatch", daemon=True).start()

    def _dispatch_quietly(self) -> None:
        try:
            self.dispatch()
        except Exception as exc:  # noqa: BLE001 - a background hand-over must never take the server down
            log.error("notify.dispatch_failed error=%s", type(exc).__name__)

    def dispatch(self, limit: int = DISPATCH_LIMIT) -> DispatchReport:
        """Hand pending notices to the notifier, oldest first."""
        report = DispatchReport()
        if not self._lock.acquire(blocking=False):
            return report  # another dispatch is running; it takes these too
        try:
            t = notification_outbox
            with self._db.read() as conn:
                rows = conn.execute(select(t).where(t.c.delivered_at.is_(None))
                                    .order_by(t.c.notice_id).limit(limit)).all()
            for row in rows:
                notice = Notice(notice_id=int(row.notice_id), record_id=str(row.record_id), phone=str(row.phone),
                                status=str(row.status), reason=row.reason,
                                created_at=datetime.fromisoformat(str(row.created_at)))
                try:
                    self.notifier.deliver(notice)
                except NotifyError as exc:
                    report.failed += 1
                    with self._db.write() as conn:
                        conn.execute(update(t).where(t.c.notice_id == row.notice_id)
                                     .values(attempts=t.c.attempts + 1, last_error=exc.detail[:200]))
                    continue
                report.sent += 1
                with self._db.write() as conn:
                    conn.execute(update(t).where(t.c.notice_id == row.notice_id)
                                 .values(attempts=t.c.attempts + 1, delivered_at=self._clock().isoformat(),
                                         last_error=None))
        finally:
            self._lock.release()
        if report.sent or report.failed:
            log.info("notify.dispatched sent=%d failed=%d", report.sent, report.failed)
        return report
