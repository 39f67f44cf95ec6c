"""The student's page as rendered from a view: each state says what it should, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kiosk.batch import Batch
from kiosk.server.student_view import Access, mask_phone, message_page, status_page, view_of

ZONE = ZoneInfo("Asia/Shanghai")
BATCH = Batch(feature_code="1S95KT", school_code="10001", school_name="示例大学", start_date="2026-06-01",
              end_date="2026-06-03", help_phone="0851-86766923", help_hours="周一到周五 9:00-17:00")
ACCESS = Access(base="/s/SECRET", hidden={}, photo_src="/s/SECRET/photo.jpg", download_url="/s/SECRET/download")


def row(status: str, **extra: Any) -> dict[str, Any]:
    return {"record_id": "6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b", "status": status, "batch": "1S95KT",
            "captured_at": datetime(2026, 6, 1, 2, 30, tzinfo=UTC).isoformat(), "station_id": "station-01",
            "code": {"masked_name": "张*", "student_number": "2026001234", "school_name": "示例大学"}, **extra}


def page(status: str, lang: str = "zh", notify: str | None = None, **extra: Any) -> str:
    view = view_of(row(status, **extra), BATCH, retention_days=365, zone=ZONE,
                   queue_position=3 if status == "queued" else None, notify_phone=notify)
    return status_page(view, ACCESS, lang)


def test_queued_shows_the_place_and_the_help_line() -> None:
    html = page("queued")
    assert "第 3 位" in html and "0851-86766923" in html
    assert "Place in the review queue: 3" in page("queued", "en")


def test_rejected_shows_the_reason_and_what_to_do() -> None:
    html = page("rejected", reason="眼睛闭合")
    assert "眼睛闭合" in html and "任意一台采集机" in html and "替换" in html
    assert 'id="confirm"' not in html


def test_approved_offers_confirm_dispute_and_the_deadline() -> None:
    html = page("approved")
    assert "确认照片" in html and "有异议" in html and "2026-06-03" in html
    assert 'src="/s/SECRET/photo.jpg"' in html


def test_confirmed_says_how_and_how_long_it_is_kept() -> None:
    auto = page("confirmed", confirmed_at=datetime(2026, 6, 3, 16, 0, 1, tzinfo=UTC).isoformat(),
                confirmed_by="auto")
    assert "自动确认" in auto and "2026-06-04" in auto
    assert "2027-06-01" in auto  # kept one year from capture
    assert 'href="/s/SECRET/download"' in auto
    by_hand = page("confirmed", "en", confirmed_at=datetime(2026, 6, 2, tzinfo=UTC).isoformat(),
                   confirmed_by="student")
    assert "You confirmed the photo on 2026-06-02" in by_hand


@pytest.mark.parametrize("status", ["awaiting_code", "queued", "approved", "rejected", "confirmed", "duplicate"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_only_masked_fields_and_escaped_values(status: str, lang: str) -> None:
    html = page(status, lang, reason="<script>alert(1)</script>")
    assert "<script>alert" not in html
    assert "2026001234" not in html and "1234" in html  # only the student number's tail
    assert "张*" in html


def test_a_notification_is_mentioned_only_when_one_will_be_sent() -> None:
    assert "短信" not in page("queued")
    html = page("queued", notify=mask_phone("13800138000"))
    assert "138****8000" in html and "13800138000" not in html


def test_message_pages_exist_in_both_languages() -> None:
    zh = message_page("zh", "student.not_found.title", "student.not_found.body", show_access=True)
    en = message_page("en", "student.not_found.title", "student.not_found.body", show_access=True)
    assert "找不到这个链接" in zh and "This link is not known" in en
    assert 'href="/s?lang=en"' in en


@pytest.mark.parametrize("status", ["awaiting_code", "queued", "approved", "rejected", "confirmed", "duplicate"])
def test_every_state_has_its_words(status: str) -> None:
    for lang in ("zh", "en"):
        assert "student.state." not in page(status, lang)
