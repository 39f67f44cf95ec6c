"""The demo's student tour helpers: opening the desktop browser, and knowing when Chromium is there."""

from __future__ import annotations

import webbrowser

from kiosk.student_tour import browser_available, open_in_browser


def test_open_in_browser_reports_whether_a_browser_took_the_url() -> None:
    seen: list[str] = []
    assert open_in_browser("http://127.0.0.1:1/s", lambda url: seen.append(url) or True)
    assert seen == ["http://127.0.0.1:1/s"]
    assert not open_in_browser("http://127.0.0.1:1/s", lambda url: False)

    def broken(url: str) -> bool:
        raise webbrowser.Error("no runnable browser")

    assert not open_in_browser("http://127.0.0.1:1/s", broken)


def test_browser_available_is_a_plain_answer() -> None:
    assert browser_available() in (True, False)
