"""The page a student's phone opens from the status QR on the station's Done screen.

It shows the review status and queue position of one record, in Chinese and
English, and nothing personal: the record id (a random UUID, the link itself)
is the only key, and the page names no student.
"""

from __future__ import annotations

import html

from kiosk.server.bind_page import PATH as BIND_PATH
from kiosk.server.schema import RecordStatus
from kiosk.text import text


def _both(key: str, **params: object) -> str:
    zh, en = text(key, "zh", **params), text(key, "en", **params)
    return f"<p lang='zh'>{html.escape(zh)}</p><p lang='en'>{html.escape(en)}</p>"


def render(status: RecordStatus) -> str:
    """The status page of one record as a small self-contained HTML document."""
    parts = [_both(f"server.status.{status.status}")]
    if status.queue_position is not None:
        parts.append(_both("server.status.position", position=status.queue_position))
    if status.reason:
        parts.append(_both("server.status.reason", reason=status.reason))
    if status.status == "awaiting_code":
        parts.append(f"<p><a href='{BIND_PATH}'>{html.escape(text('server.bind_page.title', 'zh'))} / "
                     f"{html.escape(text('server.bind_page.title', 'en'))}</a></p>")
    title = html.escape(text("server.status.title", "zh") + " / " + text("server.status.title", "en"))
    short = html.escape(status.record_id[:8].upper())
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{title}</title>"
        "<link rel='stylesheet' href='/static/status.css'>"
        f"</head><body><h1>{title}</h1><p><code>{short}</code></p>{''.join(parts)}</body></html>"
    )
