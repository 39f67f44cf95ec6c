"""The student's follow-through on a phone, driven in a real browser: the demo's last act.

``tour`` opens a record's page in headless Chromium at phone size, saves a
screenshot of each state in both languages (queued, approved, confirmed),
approves the record through the admin API as a reviewer would, confirms it as
the student, and downloads the photo. It needs Playwright and the
distribution's Chromium; ``browser_available`` says whether both are there, so
the demo skips this part cleanly on a machine without them.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: a common phone's CSS viewport
PHONE_WIDTH, PHONE_HEIGHT = 390, 844


def browser_available() -> bool:
    """Whether Playwright and Chromium are installed."""
    return CHROMIUM.exists() and importlib.util.find_spec("playwright") is not None


@dataclass
class TourResult:
    """What the tour saw: the screenshots and the downloaded photo."""

    shots: list[Path] = field(default_factory=list)
    photo: bytes = b""


def approve(base_url: str, admin_token: str, record_id: str) -> None:
    """Approve ``record_id`` through the admin API."""
    request = urllib.request.Request(
        f"{base_url}/api/v1/review/{record_id}", data=json.dumps({"action": "approve"}).encode(), method="POST",
        headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


def tour(base_url: str, admin_token: str, record_id: str, out_dir: Path, *, secret: str | None = None,
         code: tuple[str, str] | None = None, say: Callable[[str], None] = print) -> TourResult:
    """Walk the student's page of ``record_id`` from queued to downloaded; screenshots into ``out_dir``.

    The page is opened with the status link when ``secret`` is given, else
    with the collection code and last four (``code``).
    """
    from playwright.sync_api import sync_playwright

    result = TourResult()
    out_dir.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": PHONE_WIDTH, "height": PHONE_HEIGHT}, device_scale_factor=2,
                                    is_mobile=True, has_touch=True, accept_downloads=True)

            def open_page(lang: str) -> None:
                if secret is not None:
                    page.goto(f"{base_url}/s/{secret}?lang={lang}")
                    return
                assert code is not None
                page.goto(f"{base_url}/s?lang={lang}")
                page.fill("#code", code[0])
                page.fill("#last4", code[1])
                page.click("#lookup")

            def shot(name: str) -> None:
                for lang in ("zh", "en"):
                    open_page(lang)
                    path = out_dir / f"student_{name}_{lang}.png"
                    page.screenshot(path=str(path), full_page=True)
                    result.shots.append(path)

            shot("queued")
            say("student page: queued, with the place in the queue")
            approve(base_url, admin_token, record_id)
            shot("approved")
            say("student page: approved, asking to confirm")
            open_page("zh")
            page.click("#confirm")
            page.wait_for_selector("[data-status=confirmed]")
            shot("confirmed")
            open_page("zh")
            with page.expect_download() as download:
                page.click("#download")
            saved = out_dir / "student_photo.jpg"
            download.value.save_as(str(saved))
            result.photo = saved.read_bytes()
            say(f"student page: confirmed and downloaded ({len(result.photo)} bytes)")
        finally:
            browser.close()
    return result


def open_in_browser(url: str, opener: Callable[[str], Any] | None = None) -> bool:
    """Open ``url`` in the desktop's browser (the windowed demo); whether one was found."""
    import webbrowser

    try:
        return bool((opener or webbrowser.open)(url))
    except webbrowser.Error as exc:
        log.info("demo.no_browser error=%s", exc)
        return False
