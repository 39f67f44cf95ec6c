"""The browser fixture shared by the page tests: the embedded server and headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``, installed by scripts/setup.sh),
driven through Playwright's Python API; tests that need it are marked
``browser`` and skipped where it is missing. Screenshots go to
``artifacts/<area>/`` for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (scripts/setup.sh)")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium per test module: Playwright's sync driver keeps an event loop running in
    this thread while it is open, and later tests that start their own (``asyncio.run``) must not meet it."""
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (scripts/setup.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Any]:
    """A factory of pages, each in its own browser context (its own cookies): two people, two contexts."""
    contexts: list[Any] = []

    def make(width: int = 1400, height: int = 1000) -> Any:
        context = chromium.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                       timezone_id="Asia/Shanghai")
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Any) -> Any:
    """A page in a fresh browser context."""
    return new_page()


def screenshot(page: Any, area: str, name: str) -> Path:
    """Save a full-page screenshot as ``artifacts/<area>/<name>.png``; its path."""
    out = ARTIFACTS / area / f"{name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out), full_page=True)
    return out
