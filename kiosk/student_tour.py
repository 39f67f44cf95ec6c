"""The student's follow-through on a phone, driven in a real browser: the demo's last act.

``tour`` opens a record's page in headless Chromium at phone size, saves a
screenshot of each state in both languages (queued, approved, confirmed),
lets a reviewer approve the record (the demo's, at the review console:
kiosk/console_tour.py), confirms it as the student, and downloads the photo. It needs Playwright and the
distribution's Chromium; ``browser_available`` says whether both are there, so
the demo skips this part cleanly on a machine without them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from kiosk.scanner.decoders import make_decoder

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


@contextlib.contextmanager
def headless_chromium() -> Iterator[Any]:
    """The distribution's Chromium, headless, driven by Playwright (check ``browser_available`` first)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def tour(browser: Any, base_url: str, record_id: str, out_dir: Path, *, review: Callable[[], None],
         secret: str | None = None, code: tuple[str, str] | None = None,
         say: Callable[[str], None] = print) -> TourResult:
    """Walk the student's page of ``record_id`` from queued to downloaded; screenshots into ``out_dir``.

    ``review`` approves the record while the tour waits (the demo's reviewer,
    at the console). The page is opened with the status link when ``secret``
    is given, else with the collection code and last four (``code``).
    """
    result = TourResult()
    out_dir.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": PHONE_WIDTH, "height": PHONE_HEIGHT}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, accept_downloads=True)
    try:
        page = context.new_page()

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
        review()
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
        context.close()
    return result


def status_link_on_screen(screenshot: Path) -> str | None:
    """The student's status link (``.../s/<secret>``) in a QR on ``screenshot``, as a phone would read it."""
    with Image.open(screenshot) as picture:
        gray = np.asarray(picture.convert("L"))
    links = [d.text for d in make_decoder("zxing").decode(gray) if "/s/" in d.text]
    return links[0] if links else None


def link_secret(link: str) -> str | None:
    """The secret of a status link ``https://host/s/<secret>`` (None when it is not one)."""
    path = urllib.parse.urlsplit(link).path
    secret = path.split("/s/", 1)[1] if "/s/" in path else ""
    return secret if secret and "/" not in secret else None


def open_in_browser(url: str, opener: Callable[[str], Any] | None = None) -> bool:
    """Open ``url`` in the desktop's browser (the windowed demo); whether one was found."""
    import webbrowser

    try:
        return bool((opener or webbrowser.open)(url))
    except webbrowser.Error as exc:
        log.info("demo.no_browser error=%s", exc)
        return False
