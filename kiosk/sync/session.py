"""The station's credentials and HTTP session: its token file, and a session that carries it.

The token file must be private to the station's user (mode 0600 or stricter);
the session always verifies the server's certificate (the configured CA
bundle, else the system's).
"""

from __future__ import annotations

import os
from pathlib import Path

import requests

from kiosk.config import SyncSection
from kiosk.errors import KioskError


class SyncError(KioskError):
    """The sync client cannot work; the message says why."""

    default_key = "sync.failed"


class TokenError(SyncError):
    """The station token file is missing, empty or readable by others."""

    default_key = "sync.token_unreadable"


def load_token(path: Path) -> str:
    """The bearer token in ``path``; ``TokenError`` unless the file is mode 0600 (or stricter)."""
    try:
        mode = os.stat(path).st_mode & 0o777
        if mode & 0o077:
            raise TokenError("sync.token_mode", f"mode={mode:o}", path=str(path), mode=f"{mode:04o}")
        token = Path(path).read_text("utf-8").strip()
    except OSError as exc:
        raise TokenError(detail=f"errno={exc.errno}", path=str(path), reason=exc.strerror or str(exc)) from None
    if not token:
        raise TokenError("sync.token_empty", path=str(path))
    return token


def make_session(settings: SyncSection, token: str) -> requests.Session:
    """An HTTP session with the station's token and the configured CA bundle (never unverified)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    session.headers["User-Agent"] = "kiosk-station"
    session.verify = settings.ca_bundle or True
    return session


def timeouts(settings: SyncSection) -> tuple[float, float]:
    """The (connect, read) timeouts of every request to the server."""
    return (settings.connect_timeout_s, settings.read_timeout_s)
