"""systemd's notify protocol: tell the service manager we are ready and alive.

The station's unit is ``Type=notify`` with ``WatchdogSec``: systemd starts the
next unit only after ``READY=1`` and restarts the station when the ``WATCHDOG=1``
pings stop (a frozen GUI thread is as bad as a crash). The protocol is one
datagram on the AF_UNIX socket named by ``$NOTIFY_SOCKET``; we speak it with the
standard library instead of depending on libsystemd. Without the variable
(a terminal, the tests, the demo) every call is a quiet no-op.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def _address(env: Mapping[str, str]) -> str | None:
    path = env.get("NOTIFY_SOCKET", "")
    if not path:
        return None
    # A leading '@' names a socket in the abstract namespace.
    return "\0" + path[1:] if path.startswith("@") else path


def notify(state: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (``"READY=1"``, ``"WATCHDOG=1"`` ...) to systemd; False if not under systemd.

    A failure to send is logged, never raised: the watchdog must not be the
    thing that takes the station down.
    """
    address = _address(os.environ if env is None else env)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(state.encode("utf-8"), address)
    except OSError as exc:
        log.warning("watchdog.notify_failed errno=%s", exc.errno)
        return False
    return True


def notify_ready(status: str = "", env: Mapping[str, str] | None = None) -> bool:
    """Tell systemd that start-up is complete (``READY=1``), with an optional status line."""
    message = "READY=1" + (f"\nSTATUS={_one_line(status)}" if status else "")
    return notify(message, env)


def ping(env: Mapping[str, str] | None = None) -> bool:
    """Keep the watchdog fed (``WATCHDOG=1``); call it from the GUI thread's event loop."""
    return notify("WATCHDOG=1", env)


def status(text: str, env: Mapping[str, str] | None = None) -> bool:
    """Show ``text`` in ``systemctl status`` (``STATUS=...``); no personal data in it."""
    return notify(f"STATUS={_one_line(text)}", env)


def stopping(env: Mapping[str, str] | None = None) -> bool:
    """Tell systemd that a clean shutdown has begun (``STOPPING=1``)."""
    return notify("STOPPING=1", env)


def ping_interval_s(env: Mapping[str, str] | None = None) -> float | None:
    """How often to ping: half of ``$WATCHDOG_USEC``; None when no watchdog is armed for us.

    ``$WATCHDOG_PID``, when set, names the process the watchdog is meant for:
    us, or our parent when the compositor (the unit's main process, started
    with ``NotifyAccess=all``) runs us as its client. Any other process that
    inherited the environment must not ping on its behalf.
    """
    env = os.environ if env is None else env
    usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) <= 0:
        return None
    if pid and (not pid.isdigit() or int(pid) not in (os.getpid(), os.getppid())):
        return None
    return int(usec) / 2_000_000


def _one_line(text: str) -> str:
    return " ".join(text.split())
