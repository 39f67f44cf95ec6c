"""The demo's walk through the review console: a reviewer decides by keys, a coordinator opens the dashboard.

``kiosk demo`` (headless) runs these against its own server; here they run
against a small one, so a broken console tour shows without the whole demo.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from console_helpers import STUDENTS, Clock, console_server, status_of, upload
from PIL import Image

from kiosk import console_tour
from kiosk.cli import demo as demo_cli
from kiosk.server.embedded import EmbeddedServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    clock = Clock()
    with console_server(tmp_path, clock) as running:
        yield running


def test_the_demo_users_can_sign_in_and_their_passwords_are_fresh(server: EmbeddedServer) -> None:
    users = console_tour.add_demo_users(server.state.accounts, server.state.clock())
    assert [(u.name, u.role) for u in users] == [("reviewer", "reviewer"), ("coordinator", "coordinator")]
    assert users[0].password != users[1].password and len(users[0].password) >= 12
    for user in users:
        _token, session = server.state.accounts.login(user.name, user.password, "127.0.0.1", server.state.clock())
        assert session.user.role == user.role


@pytest.mark.slow
@pytest.mark.browser
def test_the_tour_approves_and_rejects_by_keys_and_shoots_every_page(server: EmbeddedServer, chromium: Any,
                                                                     tmp_path: Path) -> None:
    station = server.issue_station_token("station-01")
    first, second = (upload(server.base_url, station, i, STUDENTS[i]) for i in range(2))
    reviewer, coordinator = console_tour.add_demo_users(server.state.accounts, server.state.clock())
    out = tmp_path / "shots"
    out.mkdir()
    said: list[str] = []
    shots = console_tour.review(chromium, server.base_url, reviewer, out, approve_id=second, reject_id=first,
                                say=said.append)
    assert status_of(server.base_url, station, second) == "approved"
    assert status_of(server.base_url, station, first) == "rejected"
    decisions = [(a.actor, a.action, a.reason_code) for r in (second, first) for a in server.state.records.audit(r)]
    assert decisions == [("reviewer", "approve", None), ("reviewer", "reject", "background")]
    shots += console_tour.dashboard(chromium, server.base_url, coordinator, out, say=said.append)
    assert said[-1] == "dashboard: approved 1, rejected 1, confirmed 0"
    names = sorted(p.name for p in shots)
    assert names == sorted(f"console_{page}_{lang}.png" for page in ("login", "review", "review_done", "dashboard")
                           for lang in ("zh", "en"))
    for path in shots:
        with Image.open(path) as shot:
            assert shot.size[0] == console_tour.DESK_WIDTH


def test_without_a_browser_the_demo_says_so_once_and_carries_on(monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    import kiosk.student_tour

    monkeypatch.setattr(kiosk.student_tour, "browser_available", lambda: False)
    said: list[str] = []
    with caplog.at_level(logging.WARNING, logger="kiosk.cli.demo"):
        assert demo_cli._browser_tours(object(), ["r1"], object(), Path("unused"), said.append)
    assert said == ["review console and student page: skipped (Playwright or /usr/bin/chromium is not installed)"]
    assert [r.getMessage() for r in caplog.records] == ["demo.browser_missing"]


def test_with_a_display_the_demo_opens_the_console_and_prints_the_credentials(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import kiosk.student_tour

    opened: list[str] = []
    monkeypatch.setattr(kiosk.student_tour, "open_in_browser", lambda url: opened.append(url) or True)

    site = SimpleNamespace(server=SimpleNamespace(base_url="http://127.0.0.1:9"), console_users=(
        console_tour.ConsoleUser("reviewer", "reviewer", "pw-one-xxxxxx"),
        console_tour.ConsoleUser("coordinator", "coordinator", "pw-two-xxxxxx")))
    demo_cli._open_pages(site)
    assert opened == ["http://127.0.0.1:9/console/login?lang=zh", "http://127.0.0.1:9/s?lang=zh"]
    printed = capsys.readouterr().out
    assert "name reviewer, password pw-one-xxxxxx" in printed
    assert "name coordinator, password pw-two-xxxxxx" in printed
