"""The demo's student tour helpers: opening the desktop browser, and knowing when Chromium is there."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import segno
from PIL import Image

from kiosk.student_tour import browser_available, link_secret, open_in_browser, status_link_on_screen


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


def _screen_with(tmp_path: Path, *texts: str) -> Path:
    """A portrait screen (grey) with a QR of each of ``texts`` drawn on it, as a screenshot."""
    screen = Image.new("RGB", (1080, 1920), (243, 246, 250))
    for i, text in enumerate(texts):
        qr = segno.make(text, error="m", micro=False)
        path = tmp_path / f"qr{i}.png"
        qr.save(path, scale=8, border=4)
        with Image.open(path) as picture:
            screen.paste(picture.convert("RGB"), (100 + 480 * i, 700))
    shot = tmp_path / "09_done.png"
    screen.save(shot)
    return shot


def test_the_status_link_is_read_off_the_done_screen_among_other_codes(tmp_path: Path) -> None:
    link = "http://127.0.0.1:8765/s/Zq0-secret_Abc123"
    shot = _screen_with(tmp_path, "04YR-681Z-5", link)  # a claim ticket beside it is not the link
    assert status_link_on_screen(shot) == link
    assert link_secret(link) == "Zq0-secret_Abc123"


def test_a_screen_without_a_status_link_gives_none(tmp_path: Path) -> None:
    assert status_link_on_screen(_screen_with(tmp_path, "https://example.org/bind?ticket=04YR")) is None
    assert status_link_on_screen(_screen_with(tmp_path)) is None
    for not_a_link in ("https://host/s/", "https://host/s/a/b", "https://host/status", ""):
        assert link_secret(not_a_link) is None
