"""The student's pages in headless Chromium at phone size: what a student sees and does, end to end.

A real server (uvicorn on a loopback port, the clock injected) receives real
records with status secrets over HTTP; the browser opens the link, a reviewer
approves through the admin API, the student confirms or disputes and downloads
the photo. Screenshots of every page in both languages go to
``artifacts/student/`` for people to look at.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from student_world import BATCH, Clock
from test_server_helpers import jpeg, metadata, put_headers, server_config, upload_parts

from kiosk.server.embedded import EmbeddedServer
from kiosk.student_tour import CHROMIUM, CHROMIUM_ARGS, PHONE_HEIGHT, PHONE_WIDTH

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs the distribution's Chromium")]

SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "student"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": PHONE_WIDTH, "height": PHONE_HEIGHT}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, accept_downloads=True, locale="zh-CN")
    tab = context.new_page()
    yield tab
    context.close()


class Site:
    """The server over HTTP, its clock, a station token and the records sent."""

    def __init__(self, tmp: Path) -> None:
        self.clock = Clock()
        self.server = EmbeddedServer(server_config(tmp), clock=self.clock)
        self.url = self.server.start()
        self.server.add_batch(BATCH)
        self.token = self.server.issue_station_token("station-01")
        self.http = requests.Session()

    def upload(self, n: int) -> dict[str, Any]:
        """Send a record with a status secret, as a station does; the record's facts."""
        photo = jpeg(n, (480, 640))
        secret = secrets.token_urlsafe(24)
        code = {"student_uid": f"uid-{n}", "student_number": f"2026{n:06d}", "masked_name": "李*华",
                "school_name": BATCH.school_name, "level": "本科"}
        meta = metadata(photo, record_id=str(uuid.uuid4()), captured_at=self.clock.now,
                        code_payload=f"KC1.browser-{n}", code=code, status_secret=secret)
        answer = self.http.put(f"{self.url}/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                               headers=put_headers(self.token, meta["record_id"]), timeout=10)
        assert answer.status_code == 201, answer.text
        return {"id": meta["record_id"], "secret": secret, "photo": photo, "code": meta["code_payload"]}

    def review(self, record: dict[str, Any], action: str, reason: str | None = None) -> None:
        """A reviewer's decision through the admin API."""
        answer = self.http.post(f"{self.url}/api/v1/review/{record['id']}", json={"action": action, "reason": reason},
                                headers={"Authorization": f"Bearer {self.server.admin_token}"}, timeout=10)
        assert answer.status_code == 200, answer.text

    def status(self, record: dict[str, Any]) -> str:
        found = self.server.state.students.get(record["id"])
        return str(found.row["status"]) if found else "gone"

    def link(self, record: dict[str, Any]) -> str:
        return f"{self.url}/s/{record['secret']}"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = Site(tmp_path)
    yield s
    s.server.stop()


def shoot(page: Any, name: str) -> None:
    """Screenshot the page as it is (the full page, at phone width)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def both(page: Any, url: str, name: str) -> None:
    """Open ``url`` (without a language) in each language and screenshot it."""
    for lang in ("zh", "en"):
        page.goto(f"{url}?lang={lang}")
        shoot(page, f"{name}_{lang}")


def test_a_student_follows_the_link_confirms_and_downloads_the_same_bytes(site: Site, page: Any) -> None:
    site.upload(1)
    mine = site.upload(2)
    page.goto(site.link(mine))
    assert page.locator("[data-status=queued]").is_visible()
    assert page.locator("#position").get_attribute("data-position") == "2"
    assert "0851-86766923" in page.content()
    both(page, site.link(mine), "01_queued")
    site.review(mine, "approve")
    page.goto(site.link(mine))
    assert page.locator("[data-status=approved]").is_visible()
    assert page.locator("img.photo").evaluate("img => img.naturalWidth") == 480
    assert "2026-06-03" in page.locator("#deadline").inner_text()
    both(page, site.link(mine), "02_approved")
    page.goto(site.link(mine))
    page.click("#confirm")
    page.wait_for_selector("[data-status=confirmed]")
    assert "已确认" in page.content() and site.status(mine) == "confirmed"
    shoot(page, "03_confirmed_now_zh")
    both(page, site.link(mine), "04_confirmed")
    with page.expect_download() as download:
        page.click("#download")
    saved = Path(download.value.path())
    assert saved.read_bytes() == mine["photo"]
    assert download.value.suggested_filename.endswith(".jpg")


def test_a_disputed_photo_returns_to_review(site: Site, page: Any) -> None:
    mine = site.upload(1)
    site.upload(2)
    site.review(mine, "approve")
    page.goto(site.link(mine))
    page.click("#dispute-box summary")
    page.fill("#dispute-reason", "照片不是我本人")
    shoot(page, "05_dispute_form_zh")
    page.click("#dispute")
    page.wait_for_selector("[data-status=queued]")
    assert site.status(mine) == "queued"
    assert page.locator("#position").get_attribute("data-position") == "2"
    assert "重新进入人工审核" in page.content()
    both(page, site.link(mine), "06_disputed")
    queue = site.http.get(f"{site.url}/api/v1/review/queue",
                          headers={"Authorization": f"Bearer {site.server.admin_token}"}, timeout=10).json()
    assert queue["records"][-1]["record_id"] == mine["id"]


def test_approved_photos_are_confirmed_when_the_batch_ends(site: Site, page: Any) -> None:
    mine = site.upload(1)
    site.review(mine, "approve")
    site.clock.now = datetime.fromisoformat("2026-06-03T16:00:05+00:00")  # just after midnight in Guiyang
    site.server.state.maintain()
    page.goto(site.link(mine))
    assert page.locator("[data-status=confirmed]").is_visible()
    note = page.locator("#confirmed-note").inner_text()
    assert "自动确认" in note and "2026-06-04" in note
    both(page, site.link(mine), "07_auto_confirmed")
    with page.expect_download() as download:
        page.click("#download")
    assert Path(download.value.path()).read_bytes() == mine["photo"]


def test_bad_input_gets_a_clear_page_and_changes_nothing(site: Site, page: Any) -> None:
    rejected = site.upload(1)
    site.review(rejected, "reject", "背景有杂物")
    page.goto(site.link(rejected))
    assert "背景有杂物" in page.locator("#reason").inner_text()
    assert page.locator("#confirm").count() == 0
    both(page, site.link(rejected), "08_rejected")
    # a confirm forged for a rejected photo (an old tab, a crafted form)
    page.goto(site.link(rejected))
    page.evaluate("""() => { const f = document.createElement('form'); f.method = 'post';
                             f.action = location.pathname + '/confirm'; document.body.appendChild(f); f.submit(); }""")
    page.wait_for_selector("#message")
    assert "只有审核通过的照片可以确认" in page.content()
    shoot(page, "09_confirm_refused_zh")
    assert site.status(rejected) == "rejected"
    # an unknown secret
    response = page.goto(f"{site.url}/s/{secrets.token_urlsafe(24)}")
    assert response is not None and response.status == 404
    assert "找不到这个链接" in page.content()
    both(page, f"{site.url}/s/{secrets.token_urlsafe(24)}", "10_unknown")
    # a download link after retention
    kept = site.upload(2)
    site.review(kept, "approve")
    site.http.post(f"{site.url}/s/{kept['secret']}/confirm", timeout=10)
    site.clock.now = datetime.fromisoformat("2027-06-02T03:00:00+00:00")
    response = page.goto(f"{site.url}/s/{kept['secret']}/download")
    assert response is not None and response.status == 410
    assert "保存期限" in page.content() and "2027-06-01" in page.content()
    both(page, f"{site.url}/s/{kept['secret']}/download", "11_past_retention")
    assert site.status(kept) == "confirmed"


def test_the_code_and_last_four_open_the_page(site: Site, page: Any) -> None:
    mine = site.upload(1)
    site.review(mine, "approve")
    both(page, f"{site.url}/s", "12_access_form")
    page.goto(f"{site.url}/s")
    page.fill("#code", mine["code"])
    page.fill("#last4", "0000")
    page.click("#lookup")
    assert page.locator("#problem").is_visible()
    shoot(page, "13_access_wrong_zh")
    page.fill("#code", mine["code"])
    page.fill("#last4", "123x")
    page.click("#lookup")
    page.wait_for_selector("[data-status=approved]")
    assert page.locator("img.photo").evaluate("img => img.naturalWidth") == 480
    page.click("#confirm")
    page.wait_for_selector("[data-status=confirmed]")
    assert site.status(mine) == "confirmed"
    with page.expect_download() as download:
        page.click("#download")
    assert Path(download.value.path()).read_bytes() == mine["photo"]


def test_the_record_id_page_shows_the_state_only(site: Site, page: Any) -> None:
    mine = site.upload(1)
    page.set_extra_http_headers({"Accept": "text/html"})
    both(page, f"{site.url}/api/v1/records/{mine['id']}", "14_record_id_page")
    assert page.locator("[data-status=queued]").is_visible()
