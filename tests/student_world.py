"""A server with a batch, a station token and a clock the test moves: the student tests' world."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from test_server_helpers import jpeg, metadata, put_headers, server_config, upload_parts

from kiosk.batch import Batch
from kiosk.server.app import create_app
from kiosk.server.notify import Notifier
from kiosk.server.state import ServerState, open_state

ADMIN = "admin-token-for-the-student-tests"
BATCH = Batch(feature_code="1S95KT", school_code="10001", school_name="示例大学", start_date="2026-06-01",
              end_date="2026-06-03", help_phone="0851-86766923", help_hours="周一到周五 9:00-17:00")
#: 10:00 in Guiyang on the first day of the batch
DAY1 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


@dataclass
class Clock:
    """The server's clock, moved by the test."""

    now: datetime = DAY1

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Uploaded:
    """A record as the station sent it."""

    record_id: str
    secret: str
    photo: bytes
    code_payload: str
    last4: str = "123X"


@dataclass
class World:
    """Server state, HTTP client, station token and clock."""

    state: ServerState
    client: TestClient
    token: str
    clock: Clock
    uploads: list[Uploaded] = field(default_factory=list)

    def upload(self, n: int = 1, *, uid: str | None = None, secret: str | None = None,
               captured_at: datetime | None = None) -> Uploaded:
        """Upload a record of student ``n`` with a status secret, as a station does."""
        photo = jpeg(n + 10 * len(self.uploads), (96, 128))
        secret = secret or secrets.token_urlsafe(24)
        payload = f"KC1.test-payload-{n}"
        code = {"student_uid": uid or f"uid-{n}", "student_number": f"2026{n:06d}", "masked_name": "张*伟",
                "school_name": BATCH.school_name, "level": "本科"}
        meta = metadata(photo, record_id=str(uuid.uuid4()), captured_at=captured_at or self.clock.now,
                        code_payload=payload, code=code, status_secret=secret)
        answer = self.client.put(f"/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                                 headers=put_headers(self.token, meta["record_id"]))
        assert answer.status_code == 201, answer.text
        up = Uploaded(record_id=meta["record_id"], secret=secret, photo=photo, code_payload=payload)
        self.uploads.append(up)
        return up

    def review(self, up: Uploaded, action: str, reason: str | None = None) -> Any:
        """An admin review call."""
        return self.client.post(f"/api/v1/review/{up.record_id}", json={"action": action, "reason": reason},
                                headers={"Authorization": f"Bearer {ADMIN}"})

    def status(self, up: Uploaded) -> str:
        """The record's stored status."""
        found = self.state.students.get(up.record_id)
        return str(found.row["status"]) if found else "gone"


def make_world(tmp: Path, *, notifier: Notifier | None = None, **server: Any) -> World:
    """A world in ``tmp``."""
    clock = Clock()
    config = server_config(tmp, **server)
    state = open_state(config, admin_token=ADMIN, clock=clock, notifier=notifier)
    if state.outbox is not None:
        state.outbox.dispatch_on_decision = False  # the tests dispatch when they choose
    state.batches.put(BATCH, clock.now)
    app = create_app(config, state=state, purge_every_s=None)
    client = TestClient(app)
    client.__enter__()
    token = state.tokens.issue("station-01", clock.now)
    return World(state=state, client=client, token=token, clock=clock)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored_metadata(world: World, up: Uploaded) -> dict[str, Any]:
    from sqlalchemy import select

    from kiosk.server.tables import records

    with world.state.db.read() as conn:
        text = conn.execute(select(records.c.metadata).where(records.c.record_id == up.record_id)).scalar_one()
    return dict(json.loads(text))
