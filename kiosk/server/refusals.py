"""What the server's books refuse, and why: ``Refused``, raised by the domain, answered at the edge.

The database classes (records, binding, review desk, station board, students,
console access) decide *that* a request is refused and *which kind* of refusal
it is; they know nothing of HTTP. ``kiosk.server.problems`` holds the one
registry of problem types that turns each kind into an HTTP status and a
problem+json body (``type``, ``title``, ``status``, ``detail``).
"""

from __future__ import annotations

from typing import Any

from kiosk.errors import KioskError


class Refused(Exception):
    """A refused request: its kind (a problem type of the registry, e.g. ``"unknown-record"``) and a detail.

    ``detail`` is sent to the client and logged: never put personal data in it.
    ``error`` keeps the refused input's ``KioskError`` (not sent) so a page can word it in each language.
    ``retry_after_s`` says when to come back (sent as ``Retry-After`` and in the body).
    ``extra`` fields go into the problem body as they are.
    ``logged`` is set by a caller that has already logged the refusal, so it is not logged twice.
    """

    logged = False

    def __init__(self, kind: str, detail: str = "", *, error: KioskError | None = None,
                 retry_after_s: int | None = None, **extra: Any) -> None:
        self.kind = kind
        self.detail = detail
        self.error = error
        self.retry_after_s = retry_after_s
        self.extra = extra
        if retry_after_s is not None:
            self.extra["retry_after_s"] = retry_after_s
        super().__init__(f"{kind}: {detail}")

