"""What an answer from the collection server means for a record, and when to try again.

Pure functions, so that every case is tested without a network:

* ``sent``: a 2xx whose JSON echoes the record id and the photo's sha256.
  Anything else with a 2xx (a Wi-Fi portal's login page, an empty body) is
  not an acknowledgement and is retried.
* ``retry``: network errors, timeouts, redirects, 408, 409, 429, 5xx and any
  other unexpected answer; capped exponential back-off with full jitter,
  never sooner than the server's ``Retry-After``.
* ``pause``: 401 and 403; the station's token is refused, so the whole queue
  waits and the operator is alerted; the record's attempts are not used up.
* ``dead``: 400, 413 and 422 as the server's own ``application/problem+json``
  refusal; the server will never take this record as it is, so it is set
  aside with the reason and the queue goes on. The same statuses as some
  other page (a proxy's 413 for every large body, a portal's 400) say nothing
  about the record and are retried: a dead record is never sent again.
"""

from __future__ import annotations

import email.utils
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SENT, RETRY, PAUSE, DEAD = "sent", "retry", "pause", "dead"
DEAD_STATUSES = frozenset({400, 413, 422})
PAUSE_STATUSES = frozenset({401, 403})
PROBLEM_JSON = "application/problem+json"
#: the longest Retry-After honoured; a larger one is taken as this
RETRY_AFTER_MAX_S = 86400.0


@dataclass(frozen=True)
class Outcome:
    """The meaning of one answer (or failure) for the record sent."""

    kind: str  # SENT | RETRY | PAUSE | DEAD
    reason: str  # short, for the operator; never personal data
    retry_after_s: float | None = None
    ack: dict[str, Any] | None = None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() too, and float() refuses it
        return min(float(value), RETRY_AFTER_MAX_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), RETRY_AFTER_MAX_S)


def _problem_title(body: bytes) -> str:
    """The ``title`` (or ``type``) of a problem+json body, short; empty when there is none."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: a body nested deeper than the decoder goes
        return ""
    if not isinstance(data, dict):
        return ""
    title = data.get("title") or data.get("type") or ""
    return str(title)[:80]


def json_body(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: a body nested deeper than the decoder goes
        return None
    return data if isinstance(data, dict) else None


def is_problem(headers: Mapping[str, str]) -> bool:
    """Whether an answer is a problem document, the collection server's only form of refusal."""
    ctype = headers.get("Content-Type") or headers.get("content-type") or ""
    return ctype.split(";")[0].strip().lower() == PROBLEM_JSON


def classify_upload(status: int, headers: Mapping[str, str], body: bytes, *, record_id: str, photo_sha256: str,
                    now: datetime) -> Outcome:
    """The outcome of the server's answer to ``PUT /api/v1/records/{record_id}``."""
    if 200 <= status < 300:
        ack = json_body(body)
        if ack and ack.get("record_id") == record_id and ack.get("photo_sha256") == photo_sha256:
            return Outcome(SENT, f"http {status}", ack=ack)
        return Outcome(RETRY, f"http {status} without acknowledgement")
    return classify_status(status, headers, body, now)


def classify_status(status: int, headers: Mapping[str, str], body: bytes, now: datetime) -> Outcome:
    """The outcome of a non-2xx answer (any endpoint)."""
    title = _problem_title(body)
    reason = f"http {status}" + (f" {title}" if title else "")
    if status in PAUSE_STATUSES:
        return Outcome(PAUSE, reason)
    if status in DEAD_STATUSES:
        if is_problem(headers):
            return Outcome(DEAD, reason)
        reason += " not from the server"
    return Outcome(RETRY, reason, retry_after_s=parse_retry_after(headers.get("Retry-After"), now))


def classify_error(exc: BaseException) -> Outcome:
    """The outcome of a request that got no answer (connection refused or dropped, timeout, TLS)."""
    return Outcome(RETRY, f"network {type(exc).__name__}")


def backoff_s(attempts: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Full-jitter back-off before attempt ``attempts + 1``: uniform in [0, min(cap, base * 2**attempts)]."""
    ceiling = min(cap_s, base_s * (2 ** min(attempts, 60)))
    return rng.uniform(0.0, ceiling)


def retry_at(outcome: Outcome, attempts: int, *, base_s: float, cap_s: float, now: datetime,
             rng: random.Random) -> datetime:
    """When to try a record again after ``outcome`` (its ``attempts`` so far, this one excluded)."""
    delay = backoff_s(attempts, base_s, cap_s, rng)
    if outcome.retry_after_s is not None:
        delay = max(delay, outcome.retry_after_s)
    return now + timedelta(seconds=delay)
