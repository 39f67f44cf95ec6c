"""The sync daemon's heartbeat: a small JSON file the UI and ``kiosk doctor`` read.

The daemon rewrites ``heartbeat.json`` in the data dir after every cycle,
atomically (``kiosk.durable``), so a reader never sees half a file. A reader
judges staleness from ``at``: a daemon that stopped writing is itself an alert.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk import durable
from kiosk.store.record import format_time, parse_time

log = logging.getLogger(__name__)

FILE_NAME = "heartbeat.json"


@dataclass(frozen=True)
class Heartbeat:
    """The sync daemon's state as last written."""

    at: datetime  # when this heartbeat was written
    pid: int
    server_url: str
    queue_length: int  # records not yet acknowledged (pending, sending, retry)
    dead: int = 0  # records the server refused for good
    last_success: datetime | None = None  # last answer the server accepted
    last_error: str | None = None  # short reason, no personal data
    paused: bool = False  # the queue is paused (the server refused our token)
    alert_key: str | None = None  # strings-table key of an alert the operator must see
    next_due: datetime | None = None  # when the next queued record falls due

    def age_s(self, now: datetime) -> float:
        """Seconds since the heartbeat was written."""
        return (now - self.at).total_seconds()

    def to_json(self) -> dict[str, Any]:
        """The file's JSON form."""
        data = asdict(self)
        for key in ("at", "last_success", "next_due"):
            value = data[key]
            data[key] = format_time(value) if value is not None else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Heartbeat:
        """A heartbeat from its JSON form; ``ValueError``/``KeyError``/``TypeError`` when malformed."""
        at = parse_time(data["at"])
        if at is None:
            raise ValueError("heartbeat without time")
        return cls(at=at, pid=int(data["pid"]), server_url=str(data["server_url"]),
                   queue_length=int(data["queue_length"]), dead=int(data.get("dead", 0)),
                   last_success=parse_time(data.get("last_success")), last_error=data.get("last_error"),
                   paused=bool(data.get("paused", False)), alert_key=data.get("alert_key"),
                   next_due=parse_time(data.get("next_due")))


def write_heartbeat(data_dir: Path, beat: Heartbeat) -> None:
    """Replace the heartbeat file atomically; a failure is logged, never raised (it is advisory)."""
    try:
        durable.write_file(Path(data_dir) / FILE_NAME, json.dumps(beat.to_json(), indent=1).encode(), mode=0o644)
    except OSError as exc:
        log.error("heartbeat.write_failed errno=%s", exc.errno)


def read_heartbeat(data_dir: Path) -> Heartbeat | None:
    """The last heartbeat, or None when there is none or it cannot be read."""
    path = Path(data_dir) / FILE_NAME
    try:
        return Heartbeat.from_json(json.loads(path.read_text("utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("heartbeat.unreadable error=%s", type(exc).__name__)
        return None
