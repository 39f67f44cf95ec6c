"""What the stations report about themselves: heartbeats and help requests.

``POST /api/v1/stations/heartbeat`` keeps one row per station (the last one
wins). ``PUT /api/v1/help/{request_id}`` is idempotent on the station's own
request id: the same body again is a no-op (200), setting ``acknowledged_at``
on an open request is the one change allowed, anything else differing is 422.
The station id always comes from the caller's token.
"""

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from sqlalchemy import select, update

from kiosk.server import tables as t
from kiosk.server.console_schema import Heartbeat, HeartbeatAck, HelpAck, HelpRequest, HelpRow, StationRow
from kiosk.server.db import Database
from kiosk.server.refusals import Refused
from kiosk.server.upsert import insert_new, upsert

log = logging.getLogger(__name__)


class StationBoard:
    """Heartbeats and help requests in the database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def heartbeat(self, station_id: str, beat: Heartbeat, now: datetime) -> HeartbeatAck:
        """Store ``beat`` as ``station_id``'s latest."""
        values = {"version": beat.version, "queue_length": beat.queue_length, "sent_at": beat.sent_at.isoformat(),
                  "received_at": now.isoformat(), "received_ts": now.timestamp()}
        with self._db.write() as conn:
            upsert(conn, t.station_heartbeats, {"station_id": station_id, **values}, ["station_id"], values)
        log.info("station.heartbeat station=%s queue=%d", station_id, beat.queue_length)
        return HeartbeatAck(station_id=station_id, received_at=now)

    def help(self, station_id: str, request_id: str, ask: HelpRequest, now: datetime) -> tuple[HelpAck, bool]:
        """Store or update a help request; the stored request and whether it was new."""
        h = t.help_requests
        raised = ask.raised_at.isoformat()
        acked = ask.acknowledged_at.isoformat() if ask.acknowledged_at else None
        with self._db.write() as conn:
            created = insert_new(conn, h, {"request_id": request_id, "station_id": station_id, "reason": ask.reason,
                                           "raised_at": raised, "raised_ts": ask.raised_at.timestamp(),
                                           "acknowledged_at": acked, "received_at": now.isoformat()},
                                 ["request_id"])
            if not created:
                row = conn.execute(select(h).where(h.c.request_id == request_id)).one()
                if (row.station_id, row.reason, row.raised_at) != (station_id, ask.reason, raised) \
                        or (row.acknowledged_at is not None and row.acknowledged_at != acked):
                    log.info("help.conflict station=%s", station_id)
                    raise Refused("help-conflict", "a help request with this id and other content exists")
                if row.acknowledged_at is None and acked is not None:
                    conn.execute(update(h).where(h.c.request_id == request_id, h.c.acknowledged_at.is_(None))
                                 .values(acknowledged_at=acked))
                    log.info("help.acknowledged station=%s", station_id)
        if created:
            log.info("help.raised station=%s reason=%s", station_id, ask.reason)
        return HelpAck(request_id=request_id, station_id=station_id, reason=ask.reason, raised_at=raised,
                       acknowledged_at=acked), created

    def stations(self, now: datetime, silent_s: float) -> list[StationRow]:
        """Every station's last heartbeat, by station id; ``silent`` when older than ``silent_s``."""
        b = t.station_heartbeats
        with self._db.read() as conn:
            rows = conn.execute(select(b).order_by(b.c.station_id)).all()
        return [StationRow(station_id=r.station_id, version=r.version, queue_length=r.queue_length,
                           sent_at=r.sent_at, received_at=r.received_at,
                           silent=now.timestamp() - r.received_ts > silent_s) for r in rows]

    def open_help(self) -> list[HelpRow]:
        """Help requests not acknowledged, oldest first."""
        h = t.help_requests
        with self._db.read() as conn:
            rows = conn.execute(select(h).where(h.c.acknowledged_at.is_(None)).order_by(h.c.raised_ts)).all()
        return [HelpRow(request_id=r.request_id, station_id=r.station_id, reason=r.reason, raised_at=r.raised_at)
                for r in rows]


def make_router(board: StationBoard, clock: Callable[[], datetime], station_auth: Callable[..., str],
                problem_responses: Callable[..., dict[int | str, dict[str, Any]]]) -> APIRouter:
    """The stations' heartbeat and help calls (``station_auth``: the caller's station id, or "admin")."""
    router = APIRouter(prefix="/api/v1", tags=["station"])

    def station_only(who: Annotated[str, Depends(station_auth)]) -> str:
        if who == "admin":
            raise Refused("forbidden", "this call needs a station token")
        return who

    @router.post("/stations/heartbeat", response_model=HeartbeatAck, responses=problem_responses(401, 403, 422))
    def heartbeat(body: Heartbeat, station: Annotated[str, Depends(station_only)]) -> HeartbeatAck:
        """The station is alive: its version and upload queue length (shown on the coordinator's dashboard)."""
        return board.heartbeat(station, body, clock())

    @router.put("/help/{request_id}", response_model=HelpAck, status_code=201,
                responses={200: {"model": HelpAck, "description": "already known"},
                           **problem_responses(401, 403, 422)})
    def help_request(request_id: uuid.UUID, body: HelpRequest, response: Response,
                     station: Annotated[str, Depends(station_only)]) -> HelpAck:
        """The station asks for staff (201 the first time, 200 after); acknowledging is an update."""
        ack, created = board.help(station, str(request_id), body, clock())
        response.status_code = 201 if created else 200
        return ack

    return router

