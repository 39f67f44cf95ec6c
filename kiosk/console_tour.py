"""The review console, driven in a real browser: the demo's reviewer and coordinator at work.

``review`` signs in as the demo's reviewer, opens each record the demo names
and decides it by keyboard, one key each (``a`` approves, ``1``..``9`` reject
with a standard reason), as a reviewer at the console would; ``dashboard``
signs in as the coordinator and opens the batch dashboard. Both save
screenshots in Chinese and English into the demo's output folder. They take an
open Playwright browser (kiosk/student_tour.py opens it), so the student's page
and the console share one Chromium.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LANGUAGES = ("zh", "en")
#: a desk's screen
DESK_WIDTH, DESK_HEIGHT = 1400, 1000
#: the reason key the demo rejects with: "1", background
REJECT_KEY = "1"


@dataclass(frozen=True)
class ConsoleUser:
    """A console account the demo made, with its password (shown on the demo's terminal only)."""

    name: str
    role: str
    password: str


def add_demo_users(accounts: Any, now: datetime) -> tuple[ConsoleUser, ConsoleUser]:
    """A reviewer and a coordinator with fresh random passwords, on the demo's own server."""
    users = (ConsoleUser("reviewer", "reviewer", secrets.token_urlsafe(12)),
             ConsoleUser("coordinator", "coordinator", secrets.token_urlsafe(12)))
    for user in users:
        accounts.add(user.name, user.role, user.password, now)
    return users


def login_url(base_url: str, lang: str = "zh") -> str:
    """The console's sign-in page."""
    return f"{base_url}/console/login?lang={lang}"


def _desk(browser: Any) -> Any:
    """A page in a fresh browser context (its own cookies) at a desk's screen size."""
    context = browser.new_context(viewport={"width": DESK_WIDTH, "height": DESK_HEIGHT}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    return context.new_page()


def _sign_in(page: Any, base_url: str, user: ConsoleUser, lang: str = "zh") -> None:
    page.goto(login_url(base_url, lang))
    page.fill("#name", user.name)
    page.fill("#password", user.password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    if "/console/login" in page.url:
        raise RuntimeError(f"the console refused the demo's {user.role}")


def _shot(page: Any, out_dir: Path, name: str, shots: list[Path]) -> None:
    path = out_dir / f"console_{name}.png"
    page.screenshot(path=str(path), full_page=True)
    shots.append(path)


def review(browser: Any, base_url: str, reviewer: ConsoleUser, out_dir: Path, *, approve_id: str,
           reject_id: str | None = None, say: Callable[[str], None] = print) -> list[Path]:
    """Sign in as ``reviewer``, approve ``approve_id`` and reject ``reject_id`` (if any), each with one key.

    Screenshots: the sign-in page and the review page in both languages, and the empty queue.
    """
    shots: list[Path] = []
    page = _desk(browser)
    try:
        for lang in LANGUAGES:
            page.goto(login_url(base_url, lang))
            _shot(page, out_dir, f"login_{lang}", shots)
        _sign_in(page, base_url, reviewer)
        for record_id, key, done in ((approve_id, "a", "approved"), (reject_id, REJECT_KEY, "rejected")):
            if record_id is None:
                continue
            for lang in LANGUAGES:  # opening a record holds it for this reviewer; the same hold each time
                page.goto(f"{base_url}/console/review?record={record_id}&lang={lang}")
                page.wait_for_function("document.querySelector('.photo img')?.naturalWidth > 0")
                if record_id == approve_id:
                    _shot(page, out_dir, f"review_{lang}", shots)
            page.goto(f"{base_url}/console/review?record={record_id}&lang=zh")
            if page.get_attribute("#review", "data-record") != record_id:
                raise RuntimeError("the console did not show the demo's record")
            with page.expect_navigation():
                page.keyboard.press(key)
            say(f"review console: {done} with the key {key.upper()}")
        for lang in LANGUAGES:
            page.goto(f"{base_url}/console/review?lang={lang}")
            _shot(page, out_dir, f"review_done_{lang}", shots)
    finally:
        page.context.close()
    return shots


def dashboard(browser: Any, base_url: str, coordinator: ConsoleUser, out_dir: Path, *,
              say: Callable[[str], None] = print) -> list[Path]:
    """Sign in as ``coordinator`` and open the batch dashboard; screenshots in both languages."""
    shots: list[Path] = []
    page = _desk(browser)
    try:
        _sign_in(page, base_url, coordinator)
        for lang in LANGUAGES:
            page.goto(f"{base_url}/console/dashboard?lang={lang}")
            page.wait_for_selector('[data-count="approved"]')
            _shot(page, out_dir, f"dashboard_{lang}", shots)
        counts = {state: page.inner_text(f'[data-count="{state}"]') for state in ("approved", "rejected", "confirmed")}
        say("dashboard: " + ", ".join(f"{state} {n}" for state, n in counts.items()))
    finally:
        page.context.close()
    return shots
