"""The self-test's network checks: the server answers, the token is accepted, the clock agrees.

* ``server``: ``GET /api/v1/health`` answers ``{"status": "ok"}``. A 200 page
  that is not that JSON (a Wi-Fi login portal) is not the server.
* ``clock``: the local clock against the server's ``Date`` header. Records
  carry their capture time, and retention and review order follow it. With
  no server to ask, the clock is only checked for being after the year this
  software was written (a dead clock battery boots in 1970).
* ``token``: an authenticated call, ``GET /api/v1/batches/{batch}`` (or, with
  no batch set, ``POST /api/v1/records/status`` with no ids): 401/403 means the
  server refuses this station's token (revoked, or from another server).

All three are warnings at worst except a clock far off, which is fatal: the
station can take photos without a network, and its records wait in the queue.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import requests

from kiosk import doctor
from kiosk.text import Key

if TYPE_CHECKING:
    from kiosk.config import StationConfig
    from kiosk.doctor import Finding

log = logging.getLogger(__name__)
OK, WARNING, FATAL = "ok", "warning", "fatal"

#: clock difference to the server that earns a warning, and one that stops the station
CLOCK_WARN_S = 120.0
CLOCK_FATAL_S = 3600.0
#: no correct clock is earlier than this
CLOCK_FLOOR = datetime(2025, 1, 1, tzinfo=UTC)


def _f(name: str, severity: str, key: str, detail: str = "", **params: Any) -> Finding:
    return doctor.finding(name, severity, key, detail, **params)


def _session() -> requests.Session:
    return requests.Session()


@dataclass
class ServerProbe:
    """How the network checks reach the server (a ``requests``-like session; tests pass a fake)."""

    session_factory: Any = field(default=_session)


def _local_clock(now: datetime) -> Finding:

    if now < CLOCK_FLOOR:
        return _f("clock", FATAL, "doctor.clock.unset", now.isoformat(), now=now.strftime("%Y-%m-%d %H:%M"))
    return _f("clock", OK, "doctor.clock.local", now.isoformat(), now=now.strftime("%Y-%m-%d %H:%M"))


def _server_time(response: Any) -> datetime | None:
    header = response.headers.get("Date")
    if header:
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            log.warning("doctor.bad_date_header")
            return None
        # HTTP dates are GMT; a header without a zone (or RFC 2822's "-0000") parses as naive
        return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return None


def _clock(now: datetime, server: datetime | None) -> Finding:

    if server is None:
        return _local_clock(now)
    skew = (now - server).total_seconds()
    detail = f"skew_s={skew:+.0f}"
    direction = Key("doctor.clock.ahead" if skew > 0 else "doctor.clock.behind")
    params = {"seconds": f"{abs(skew):.0f}", "direction": direction}
    if abs(skew) >= CLOCK_FATAL_S or now < CLOCK_FLOOR:
        return _f("clock", FATAL, "doctor.clock.far_off", detail, **params)
    if abs(skew) >= CLOCK_WARN_S:
        return _f("clock", WARNING, "doctor.clock.off", detail, **params)
    return _f("clock", OK, "doctor.clock.ok", detail, **params)


def _read_token(cfg: StationConfig) -> tuple[str | None, Finding | None]:

    path = cfg.sync.token_file
    try:
        token = path.read_text("utf-8").strip()
    except FileNotFoundError:
        return None, _f("token", WARNING, "doctor.token.missing", str(path), path=str(path))
    except OSError as exc:
        return None, _f("token", WARNING, "doctor.token.unreadable", f"{path}: errno {exc.errno}",
                             path=str(path))
    except UnicodeDecodeError:
        return None, _f("token", WARNING, "doctor.token.malformed", f"{path}: not UTF-8", path=str(path))
    if not token:
        return None, _f("token", WARNING, "doctor.token.missing", f"{path} is empty", path=str(path))
    if not token.isascii() or not token.isprintable() or any(ch.isspace() for ch in token):
        # it could not even be sent in an HTTP header
        return None, _f("token", WARNING, "doctor.token.malformed", f"{path}: not one printable word",
                        path=str(path))
    if os.stat(path).st_mode & 0o077:
        return token, _f("token", WARNING, "doctor.token.open", f"{path} mode {os.stat(path).st_mode & 0o777:o}",
                              path=str(path))
    return token, None


def check_network(cfg: StationConfig, probe: ServerProbe, now: datetime) -> list[Finding]:
    """The server, the clock and the token findings (see the module docstring)."""

    sync = cfg.sync
    if not sync.server_url:
        return [_f("server", OK, "doctor.server.offline"), _local_clock(now)]
    base = sync.server_url.rstrip("/")
    kwargs: dict[str, Any] = {"timeout": (sync.connect_timeout_s, min(sync.read_timeout_s, 15.0)),
                              "verify": sync.ca_bundle or True, "allow_redirects": False}
    session = probe.session_factory()
    try:
        try:
            health = session.get(f"{base}/api/v1/health", **kwargs)
        except requests.exceptions.SSLError as exc:
            log.warning("doctor.server_tls error=%s", type(exc).__name__)
            return [_f("server", WARNING, "doctor.server.tls", str(exc), url=base), _local_clock(now)]
        except requests.RequestException as exc:
            log.warning("doctor.server_unreachable error=%s", type(exc).__name__)
            return [_f("server", WARNING, "doctor.server.unreachable", type(exc).__name__, url=base),
                    _local_clock(now)]
        try:
            healthy = health.status_code == 200 and health.json().get("status") == "ok"
        except (ValueError, AttributeError):
            healthy = False
        if not healthy:
            return [_f("server", WARNING, "doctor.server.not_server", f"HTTP {health.status_code}", url=base),
                    _local_clock(now)]
        out = [_f("server", OK, "doctor.server.ok", base, url=base), _clock(now, _server_time(health))]
        out.append(_check_token(cfg, session, base, kwargs))
        return out
    finally:
        session.close()


def _check_token(cfg: StationConfig, session: Any, base: str, kwargs: dict[str, Any]) -> Finding:

    token, problem = _read_token(cfg)
    if token is None:
        assert problem is not None
        return problem
    headers = {"Authorization": f"Bearer {token}"}
    batch = cfg.station.batch.strip().upper()
    try:
        if batch:
            answer = session.get(f"{base}/api/v1/batches/{batch}", headers=headers, **kwargs)
        else:
            answer = session.post(f"{base}/api/v1/records/status", json={"ids": []}, headers=headers, **kwargs)
    except requests.RequestException as exc:
        return _f("token", WARNING, "doctor.token.unchecked", type(exc).__name__)
    status = answer.status_code
    if status in (401, 403):
        log.warning("doctor.token_refused status=%d", status)
        return _f("token", WARNING, "doctor.token.refused", f"HTTP {status}", station=cfg.station.id)
    if batch and status == 404:
        return _f("token", WARNING, "doctor.token.batch_unknown", f"HTTP {status}", batch=batch)
    if not 200 <= status < 300:
        return _f("token", WARNING, "doctor.token.unchecked", f"HTTP {status}")
    return problem or _f("token", OK, "doctor.token.ok", f"HTTP {status}", station=cfg.station.id)
