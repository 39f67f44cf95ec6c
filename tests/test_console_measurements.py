"""The review page shows the station's measurements: labelled in both languages, against the standard's bands."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_helpers import review_client, sign_in, upload_through
from fastapi.testclient import TestClient

from kiosk.server.review_measures import ORDER, measure_rows
from kiosk.text import text

ADMIN = "admin-token-for-the-measurement-tests"
#: head top above its band, the eye line inside, a failed sharpness check, a key this server does not know
SENT: dict[str, Any] = {"head_top_px": 38, "eye_line_px": 262, "chin_px": 448, "face_width_px": 221,
                        "tilt_deg": -0.4, "sharpness": 31, "background_rgb": "#64C5FF", "eyes_found": True,
                        "checks_failed": "sharpness", "glasses_score": 0.12}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with review_client(tmp_path, ADMIN) as c:
        sign_in(c)
        yield c




def _row(page: str, key: str) -> str:
    found = re.search(rf'<tr data-key="{key}"[^>]*>.*?</tr>', page)
    assert found, key
    return found.group(0)


def test_the_review_page_shows_each_measurement_with_its_band_in_both_languages(client: TestClient) -> None:
    record = upload_through(client, 1, measurements=SENT)
    for lang, band, outside, failed in (("zh", "（标准 50–110 px）", "超出标准", "站点检查未通过"),
                                        ("en", "(standard 50–110 px)", "outside the standard",
                                         "failed the station&#39;s check")):
        page = client.get(f"/console/review?record={record}&lang={lang}").text
        assert f'data-record="{record}"' in page and 'id="measurements"' in page
        head = _row(page, "head_top_px")
        assert text("console.measure.head_top_px", lang) in head and "38 px" in head and band in head
        assert 'class="outside"' in head and f"⚠ {outside}" in head  # marked in words, not colour alone
        eye = _row(page, "eye_line_px")
        assert "262 px" in eye and 'class="outside"' not in eye and "⚠" not in eye
        assert "200–300 px" in eye and "180–300 px" in _row(page, "face_width_px")
        sharp = _row(page, "sharpness")
        assert text("console.measure.sharpness", lang) in sharp and failed in sharp
        checks = _row(page, "checks_failed")
        assert text("console.check.sharpness", lang) in checks
        assert "-0.4°" in _row(page, "tilt_deg") and "#64C5FF" in _row(page, "background_rgb")
        assert text("console.yes", lang) in _row(page, "eyes_found")
        assert "<th>glasses_score</th>" in _row(page, "glasses_score")  # unknown keys: shown by their name


def test_a_record_without_measurements_says_so(client: TestClient) -> None:
    record = upload_through(client, 2)
    page = client.get(f"/console/review?record={record}&lang=en").text
    assert f'data-record="{record}"' in page and 'id="measurements"' not in page
    assert text("console.review.no_measurements", "en") in page


def test_every_key_a_station_sends_is_labelled_in_both_languages() -> None:
    for key in ORDER:
        for lang in ("zh", "en"):
            assert not text(f"console.measure.{key}", lang).startswith("console."), (key, lang)
    from kiosk.portrait.measurements import MAX_VALUES

    assert len(ORDER) <= MAX_VALUES


def test_rows_follow_the_standard_order_and_all_passed_reads_as_such() -> None:
    rows = measure_rows({"checks_failed": "", "eye_line_px": 301.0, "head_top_px": 50.0}, "en")
    assert [r.key for r in rows] == ["head_top_px", "eye_line_px", "checks_failed"]
    assert not rows[0].outside and rows[1].outside  # the band's ends are inside it
    assert rows[2].value == text("console.measure.all_passed", "en") and not rows[2].outside
