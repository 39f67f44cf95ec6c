"""The review console in headless Chromium: sign in, review by keys, the dashboard, and bad input.

Screenshots of every page in both languages go to ``artifacts/console/``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from browser import screenshot
from console_helpers import PASSWORD, STUDENTS, Clock, console_server, status_of, upload
from playwright.sync_api import expect

from kiosk.server.embedded import EmbeddedServer

pytestmark = pytest.mark.browser


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(tmp_path: Path, clock: Clock) -> Iterator[EmbeddedServer]:
    with console_server(tmp_path, clock) as running:
        yield running


@pytest.fixture
def station(server: EmbeddedServer) -> str:
    return server.issue_station_token("station-01")


def sign_in(page: Any, base: str, name: str, lang: str = "zh", password: str = PASSWORD) -> Any:
    page.goto(f"{base}/console/login?lang={lang}")
    page.fill("#name", name)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    return page


def shown_record(page: Any) -> str:
    return str(page.get_attribute("#review", "data-record"))


def test_a_reviewer_approves_and_rejects_with_one_key_each(server: EmbeddedServer, station: str, page: Any) -> None:
    base = server.base_url
    ids = [upload(base, station, i, STUDENTS[i]) for i in range(3)]
    sign_in(page, base, "ann")
    assert "/console/review" in page.url
    assert shown_record(page) == ids[0]
    assert page.locator("dd.big").inner_text() == "张*三"
    assert page.locator("table.kv").inner_text().count("\n") >= 5  # the station's measurements
    assert page.evaluate("document.querySelector('.photo img').naturalWidth") == 480
    screenshot(page, "console", "review_zh")

    with page.expect_navigation():
        page.keyboard.press("a")
    assert shown_record(page) == ids[1]
    with page.expect_navigation():
        page.keyboard.press("2")  # headwear
    assert shown_record(page) == ids[2]
    page.keyboard.press("9")  # other: the note field takes the keys now
    page.keyboard.type("衣领遮挡")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#empty").is_visible()
    screenshot(page, "console", "review_empty_zh")

    assert [status_of(base, station, i) for i in ids] == ["approved", "rejected", "rejected"]
    audit = server.state.records.audit(ids[2])
    assert [(a.actor, a.action, a.reason_code) for a in audit] == [("ann", "reject", "other")]
    assert "衣领遮挡" in (audit[0].reason or "")
    assert server.state.records.audit(ids[1])[0].reason_code == "headwear"


def test_the_review_page_in_english_and_a_student_s_earlier_attempts(server: EmbeddedServer, station: str,
                                                                     page: Any) -> None:
    base = server.base_url
    first = upload(base, station, 1, STUDENTS[0])
    sign_in(page, base, "ann", "en")
    assert shown_record(page) == first
    page.focus("#batch")
    page.keyboard.press("2")  # a key typed into the batch chooser is not a decision
    assert status_of(base, station, first) == "queued"
    page.click("button[value=blur]")
    page.wait_for_selector("#empty")
    again = upload(base, station, 2, STUDENTS[0])
    page.goto(f"{base}/console/review?lang=en")
    assert shown_record(page) == again
    earlier = page.locator("table.list").inner_text()
    assert "Rejected" in earlier and "blurred" in earlier
    assert page.locator("h1").first.inner_text() == "Photo review"
    screenshot(page, "console", "review_en")


def test_a_coordinator_sees_the_dashboard_change(server: EmbeddedServer, station: str, new_page: Any) -> None:
    base = server.base_url
    ids = [upload(base, station, i, STUDENTS[i]) for i in range(2)]
    coordinator = sign_in(new_page(), base, "cai")
    assert "/console/dashboard" in coordinator.url
    assert coordinator.locator('[data-count="queued"]').inner_text() == "2"
    for lang in ("zh", "en"):
        coordinator.goto(f"{base}/console/dashboard?lang={lang}&refresh=1")
        screenshot(coordinator, "console", f"dashboard_quiet_{lang}")

    auth = {"Authorization": f"Bearer {station}"}
    beat = requests.post(f"{base}/api/v1/stations/heartbeat", headers=auth, timeout=10,
                         json={"version": "0.1.0", "queue_length": 4, "sent_at": server.state.clock().isoformat()})
    assert beat.status_code == 200, beat.text
    asked = requests.put(f"{base}/api/v1/help/{uuid.uuid4()}", headers=auth, timeout=10,
                         json={"reason": "camera_lost", "raised_at": server.state.clock().isoformat()})
    assert asked.status_code == 201, asked.text
    reviewer = sign_in(new_page(), base, "ann")
    with reviewer.expect_navigation():
        reviewer.keyboard.press("a")
    assert status_of(base, station, ids[0]) == "approved"

    # the page asks the API again by itself: no reload here
    expect(coordinator.locator('[data-count="approved"]')).to_have_text("1")
    expect(coordinator.locator("#help tbody")).to_contain_text("station-01")
    assert coordinator.locator('[data-count="queued"]').inner_text() == "1"
    assert coordinator.locator('[data-count="on_stations"]').inner_text() == "4"
    assert "Camera lost" in coordinator.locator("#help").inner_text()
    screenshot(coordinator, "console", "dashboard_busy_en")
    coordinator.goto(f"{base}/console/dashboard?lang=zh")
    assert "摄像头断开" in coordinator.locator("#help").inner_text()
    screenshot(coordinator, "console", "dashboard_busy_zh")


def test_a_wrong_password_is_a_clear_page_and_opens_nothing(server: EmbeddedServer, page: Any) -> None:
    base = server.base_url
    for lang in ("zh", "en"):
        page.goto(f"{base}/console/login?lang={lang}")
        screenshot(page, "console", f"login_{lang}")
    sign_in(page, base, "ann", "zh", password="not the password")
    assert "/console/login" in page.url
    assert page.locator(".error").inner_text() == "用户名或密码不正确。"
    screenshot(page, "console", "login_wrong_zh")
    assert not [c for c in page.context.cookies() if c["name"] == "kiosk_session"]
    page.goto(f"{base}/console/review")
    assert "/console/login" in page.url  # still nobody


def test_repeated_wrong_passwords_lock_the_account_even_for_the_right_one(server: EmbeddedServer, page: Any) -> None:
    base = server.base_url
    for _ in range(server.config.server.login_max_misses):
        sign_in(page, base, "bob", "en", password="guessing again")
    sign_in(page, base, "bob", "en")
    assert "Too many wrong attempts" in page.locator(".error").inner_text()
    screenshot(page, "console", "login_locked_en")
    assert not [c for c in page.context.cookies() if c["name"] == "kiosk_session"]


def test_an_expired_session_sends_to_the_login_page_and_the_api_refuses(server: EmbeddedServer, station: str,
                                                                      clock: Clock, page: Any) -> None:
    base = server.base_url
    record = upload(base, station, 1, STUDENTS[0])
    sign_in(page, base, "ann")
    csrf = page.input_value("input[name=csrf_token]")
    clock.advance(minutes=server.config.server.console_idle_minutes + 1)
    answer = page.request.post(f"{base}/api/v1/review/{record}/decision", data={"action": "approve"},
                               headers={"X-CSRF-Token": csrf})
    assert answer.status == 401
    assert answer.json()["type"] == "/problems/session-expired"
    page.goto(f"{base}/console/review?lang=en")
    assert "/console/login" in page.url
    assert "session has ended" in page.locator(".notice").inner_text()
    screenshot(page, "console", "login_expired_en")
    assert status_of(base, station, record) == "queued"


def test_a_forged_csrf_token_changes_nothing(server: EmbeddedServer, station: str, page: Any) -> None:
    base = server.base_url
    record = upload(base, station, 1, STUDENTS[0])
    sign_in(page, base, "ann")
    for forged in ({"X-CSRF-Token": "forged"}, {}):
        answer = page.request.post(f"{base}/api/v1/review/{record}/decision", data={"action": "approve"},
                                   headers=forged)
        assert answer.status == 403
        assert answer.json()["type"] == "/problems/csrf"
    assert status_of(base, station, record) == "queued"
    # a logout form posted with a forged token is refused with a page, and the session lives on
    page.evaluate("document.querySelector('form.inline input[name=csrf_token]').value = 'forged'")
    page.click("form.inline button")
    assert page.locator(".error").is_visible()
    screenshot(page, "console", "forged_csrf_zh")
    page.goto(f"{base}/console/review")
    assert shown_record(page) == record
    # the real token logs out
    with page.expect_navigation():
        page.click("form.inline button")
    assert "/console/login" in page.url
    page.goto(f"{base}/console/review")
    assert "/console/login" in page.url


def test_a_second_reviewer_never_gets_a_record_the_first_one_holds(server: EmbeddedServer, station: str,
                                                                  new_page: Any) -> None:
    base = server.base_url
    first, second = upload(base, station, 1, STUDENTS[0]), upload(base, station, 2, STUDENTS[1])
    ann = sign_in(new_page(), base, "ann")
    bob = sign_in(new_page(), base, "bob", "en")
    assert shown_record(ann) == first
    assert shown_record(bob) == second  # not the one ann holds
    bob.goto(f"{base}/console/review?lang=en&record={first}")
    assert "Another reviewer" in bob.locator("#notice").inner_text()
    screenshot(bob, "console", "claimed_elsewhere_en")
    csrf = bob.input_value("#decision input[name=csrf_token]")
    answer = bob.request.post(f"{base}/api/v1/review/{first}/decision", data={"action": "approve"},
                              headers={"X-CSRF-Token": csrf})
    assert answer.status == 409
    assert answer.json()["type"] == "/problems/claimed"
    assert status_of(base, station, first) == "queued"
    assert server.state.records.audit(first) == []
    # ann still decides it
    with ann.expect_navigation():
        ann.keyboard.press("a")
    assert status_of(base, station, first) == "approved"


def test_a_reviewer_may_not_open_the_dashboard(server: EmbeddedServer, page: Any) -> None:
    sign_in(page, server.base_url, "ann", "en")
    answer = page.goto(f"{server.base_url}/console/dashboard?lang=en")
    assert answer is not None and answer.status == 403
    assert re.search("coordinator", page.locator(".error").inner_text())
    screenshot(page, "console", "denied_en")
