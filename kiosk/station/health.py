"""The operator's station-status lines and today's figures.

Helpers of ``kiosk.station``. What the station can see itself (disk, queue,
the sync daemon's heartbeat) is measured here; what only the app knows
(camera, scanner, a live server check) arrives as probes.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kiosk.flow import HealthItem
from kiosk.sync.heartbeat import read_heartbeat

if TYPE_CHECKING:
    from kiosk.station.parts import RecordStore

log = logging.getLogger(__name__)

#: below this much free space the disk line turns red (a record is ~100 KB with its original)
DISK_LOW_BYTES = 500 * 1024 * 1024
#: a heartbeat older than this means the sync daemon is not running
HEARTBEAT_STALE_S = 120.0
#: the order of the figures on the statistics screen (labels: "flow.stats.<name>")
STATS_ORDER = ("captured", "codeless", "sent", "approved", "rejected", "queued", "dead", "bindings_pending")
#: the order of the status lines (labels: "flow.health.<name>")
HEALTH_ORDER = ("camera", "scanner", "disk", "queue", "last_sync", "server", "token")


def _disk(data_dir: Any) -> HealthItem:
    try:
        free = shutil.disk_usage(data_dir).free
    except OSError as exc:
        log.error("health.disk_unreadable errno=%s", exc.errno)
        return HealthItem("disk", False, "", "flow.health.unreadable")
    return HealthItem("disk", free >= DISK_LOW_BYTES, f"{free / 1e9:.1f} GB",
                      None if free >= DISK_LOW_BYTES else "flow.health.disk_low")


def _from_heartbeat(data_dir: Any, queue: int, now: datetime) -> list[HealthItem]:
    beat = read_heartbeat(data_dir)
    if beat is None:
        return [HealthItem("last_sync", queue == 0, "-", "flow.health.sync_not_running"),
                HealthItem("server", False, "-", "flow.health.sync_not_running"),
                HealthItem("token", False, "-", "flow.health.sync_not_running")]
    stale = beat.age_s(now) > HEARTBEAT_STALE_S
    last = beat.last_success.astimezone().strftime("%H:%M:%S") if beat.last_success else "-"
    items = [HealthItem("last_sync", not stale and (queue == 0 or beat.last_success is not None), last,
                        "flow.health.sync_not_running" if stale else None)]
    server_ok = not stale and beat.last_error is None and not beat.paused
    items.append(HealthItem("server", server_ok, beat.server_url,
                            None if server_ok else "flow.health.server_unreachable"))
    items.append(HealthItem("token", not beat.paused, "", "flow.health.token_refused" if beat.paused else None))
    return items


def gather_health(store: RecordStore, probes: Mapping[str, HealthItem | Callable[[], HealthItem]],
                  now: datetime) -> tuple[HealthItem, ...]:
    """Every status line: probes (or ready items) where given, the station's own measures otherwise."""
    queue = int(store.queue_length())
    own = {item.name: item for item in [_disk(store.data_dir), *_from_heartbeat(store.data_dir, queue, now)]}
    own["queue"] = HealthItem("queue", True, str(queue))
    out: list[HealthItem] = []
    for name in (*HEALTH_ORDER, *[p for p in probes if p not in HEALTH_ORDER]):
        probe = probes.get(name)
        if isinstance(probe, HealthItem):
            out.append(probe)
        elif probe is not None:
            try:
                out.append(probe())
            except OSError as exc:
                log.error("health.probe_failed name=%s error=%s", name, type(exc).__name__)
                out.append(HealthItem(name, False, "", "flow.health.unreadable"))
        elif name in own:
            out.append(own[name])
    return tuple(out)


def stats_items(stats: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    """Today's figures in screen order."""
    return tuple((name, int(stats[name])) for name in STATS_ORDER if name in stats)
