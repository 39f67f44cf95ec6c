"""Checks of an uploaded record before anything of it is stored: its pictures and its capture time.

A photo or original is accepted only when it decodes whole as a JPEG: three
bytes of JPEG magic in front of an HTML page, a truncated file, or a JPEG with
something appended after its end marker (a polyglot a browser might read as
another type) are refused, so the server never stores and serves as
``image/jpeg`` what is not one. The pixel count is read from the header before
decoding, so a small file claiming huge dimensions costs nothing.

A record's capture time must lie within its batch's dates, widened by a skew
for station clocks and time zones, and not ahead of the server's clock by more
than that skew: a record claiming 2001 would be purged at once, one claiming
next year kept too long.
"""

from __future__ import annotations

import io
import logging
import warnings
from datetime import date, datetime, time, timedelta, timezone

from PIL import Image

from kiosk.batch import Batch
from kiosk.server.refusals import Refused

log = logging.getLogger(__name__)

JPEG_MAGIC = b"\xff\xd8\xff"
JPEG_END = b"\xff\xd9"
#: more pixels than any original a station makes (a head-and-shoulders crop of an HD frame)
MAX_PIXELS = 24_000_000
#: the time zone of the batch's dates (China Standard Time)
BATCH_ZONE = timezone(timedelta(hours=8))


def check_jpeg(data: bytes, part: str, max_bytes: int) -> None:
    """Refuse a picture that is too large (413), not a JPEG (422 not-jpeg) or does not decode (422 not-a-photo)."""
    if len(data) > max_bytes:
        raise Refused("too-large", f"{part} is {len(data)} bytes; at most {max_bytes}")
    if not data.startswith(JPEG_MAGIC):
        log.info("upload.refused part=%s why=not_jpeg", part)
        raise Refused("not-jpeg", f"{part} is not a JPEG")
    why = _undecodable(data)
    if why:
        log.info("upload.refused part=%s why=%s", part, why)
        raise Refused("not-a-photo", f"{part} is not a whole JPEG image ({why.replace('_', ' ')})")


def _undecodable(data: bytes) -> str:
    """Why ``data`` is not a whole JPEG image, or "" when it is one."""
    if not data.endswith(JPEG_END):
        return "data_after_end" if JPEG_END in data[-65536:] else "no_end_marker"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    return "too_many_pixels"
                image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return "undecodable"
    return ""


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        return None


def check_capture_time(captured_at: datetime, batch: Batch | None, now: datetime, skew: timedelta) -> None:
    """Refuse (422 captured-outside-batch) a capture time outside the batch's dates or ahead of ``now``.

    The batch's dates are whole days in China Standard Time, where collection
    days take place; ``skew`` covers station clocks and other zones. A batch the
    server does not know, or whose dates do not parse, bounds nothing but the future.
    """
    if captured_at > now + skew:
        log.info("upload.refused why=captured_in_future")
        raise Refused("captured-outside-batch",
                      f"captured_at is more than {_hours(skew)} ahead of the server's clock")
    if batch is None:
        return
    first, last = _day(batch.start_date), _day(batch.end_date)
    if first is None or last is None:
        return
    opens = datetime.combine(first, time.min, BATCH_ZONE) - skew
    closes = datetime.combine(last + timedelta(days=1), time.min, BATCH_ZONE) + skew
    if not opens <= captured_at < closes:
        log.info("upload.refused why=captured_outside_batch")
        raise Refused("captured-outside-batch",
                      f"captured_at is outside the batch's dates {batch.start_date} to {batch.end_date} "
                      f"(give or take {_hours(skew)})")


def _hours(skew: timedelta) -> str:
    return f"{skew.total_seconds() / 3600:g} h"
