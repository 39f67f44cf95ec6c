"""The student's pages and calls over HTTP: link, code access, confirm, dispute, download, notices, retention."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from student_world import ADMIN, World, make_world, sha256, stored_metadata
from test_server_helpers import assert_problem

from kiosk.server.notify import Notice, NotifyError, OutboxNotifier
from kiosk.server.records import secret_sha256
from kiosk.server.tables import notification_outbox, records


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(tmp_path)
    yield w
    w.client.__exit__(None, None, None)


@pytest.fixture
def notifying(tmp_path: Path) -> Iterator[World]:
    w = make_world(tmp_path, notifier=OutboxNotifier())
    yield w
    w.client.__exit__(None, None, None)


def outbox_rows(world: World) -> list[dict[str, object]]:
    with world.state.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(notification_outbox))]


def test_the_server_keeps_only_the_secrets_hash(world: World) -> None:
    up = world.upload()
    assert stored_metadata(world, up)["status_secret"] is None
    with world.state.db.read() as conn:
        stored = conn.execute(select(records.c.status_secret_sha256)).scalar_one()
    assert stored == secret_sha256(up.secret)


def test_the_status_link_shows_the_queue_and_the_help_line(world: World) -> None:
    world.upload(1)
    up = world.upload(2)
    page = world.client.get(f"/s/{up.secret}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "排队位置：第 2 位" in page.text and "0851-86766923" in page.text
    assert "张*伟" in page.text and "2026000002" not in page.text
    assert "Place in the review queue: 2" in world.client.get(f"/s/{up.secret}?lang=en").text


@pytest.mark.parametrize("secret", ["x" * 32, "short", "x" * 65, "abc.def-ghi.jkl.mno", "%00" * 12])
def test_an_unknown_or_malformed_secret_is_a_404_page(world: World, secret: str) -> None:
    world.upload()
    page = world.client.get(f"/s/{secret}")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "找不到这个链接" in page.text


def test_approve_confirm_download_gives_the_stored_bytes(world: World) -> None:
    up = world.upload()
    assert world.client.get(f"/s/{up.secret}/photo.jpg").status_code == 404  # not before review
    assert world.review(up, "approve").status_code == 200
    page = world.client.get(f"/s/{up.secret}")
    assert "确认照片" in page.text and "有异议" in page.text and "2026-06-03" in page.text
    assert world.client.get(f"/s/{up.secret}/photo.jpg").content == up.photo
    early = world.client.get(f"/s/{up.secret}/download")
    assert early.status_code == 409 and "确认后才能下载" in early.text
    done = world.client.post(f"/s/{up.secret}/confirm", data={"lang": "en"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("&done=confirmed")
    assert world.status(up) == "confirmed"
    page = world.client.get(done.headers["location"])
    assert "Confirmed. Thank you!" in page.text and "You confirmed the photo on 2026-06-01" in page.text
    assert "until 2027-06-01" in page.text
    download = world.client.get(f"/s/{up.secret}/download")
    assert download.status_code == 200 and download.headers["content-type"] == "image/jpeg"
    assert "attachment" in download.headers["content-disposition"]
    assert download.content == up.photo and sha256(download.content) == sha256(up.photo)


def test_confirming_a_rejected_photo_is_refused_and_changes_nothing(world: World) -> None:
    up = world.upload()
    world.review(up, "reject", "背景不合格")
    page = world.client.get(f"/s/{up.secret}")
    assert "背景不合格" in page.text and "任意一台采集机" in page.text and 'id="confirm"' not in page.text
    refused = world.client.post(f"/s/{up.secret}/confirm", data={"lang": "zh"})
    assert refused.status_code == 409 and "审核未通过" in refused.text
    assert world.status(up) == "rejected"
    assert world.client.post(f"/s/{up.secret}/dispute", data={"reason": "x"}).status_code == 409
    assert world.client.get(f"/s/{up.secret}/download").status_code == 409
    # the same refusals on the page opened with the code and the last four
    held = {"code": up.code_payload, "last4": "123X", "lang": "zh"}
    by_code = world.client.post("/s/code/confirm", data=held)
    assert by_code.status_code == 409 and "审核未通过" in by_code.text
    assert world.client.post("/s/code/download", data=held).status_code == 409
    assert world.status(up) == "rejected"


def test_a_dispute_needs_a_reason_and_goes_to_the_end_of_the_queue(world: World) -> None:
    up = world.upload(1)
    world.review(up, "approve")
    world.upload(2)
    empty = world.client.post(f"/s/{up.secret}/dispute", data={"reason": "  "})
    assert empty.status_code == 422 and world.status(up) == "approved"
    too_long = world.client.post(f"/s/{up.secret}/dispute", data={"reason": "长" * 501})
    assert too_long.status_code == 422 and world.status(up) == "approved"
    done = world.client.post(f"/s/{up.secret}/dispute", data={"reason": "不是我本人"}, follow_redirects=True)
    assert done.status_code == 200 and "重新审核" in done.text
    assert world.status(up) == "queued"
    queue = world.client.get("/api/v1/review/queue", headers={"Authorization": f"Bearer {ADMIN}"}).json()
    assert [r["record_id"] for r in queue["records"]][-1] == up.record_id
    assert "排队位置：第 2 位" in done.text


def test_approved_photos_are_confirmed_automatically_when_the_batch_ends(world: World) -> None:
    approved, queued = world.upload(1), world.upload(2)
    world.review(approved, "approve")
    world.clock.now = world.clock.now.replace(day=3, hour=15, minute=59)  # 23:59 local on the last day
    world.state.maintain()
    assert world.status(approved) == "approved"
    world.clock.advance(minutes=2)
    world.state.maintain()
    assert world.status(approved) == "confirmed" and world.status(queued) == "queued"
    page = world.client.get(f"/s/{approved.secret}")
    assert "自动确认" in page.text and "2026-06-04" in page.text and "2026-06-03" in page.text
    assert world.client.get(f"/s/{approved.secret}/download").content == approved.photo


def test_after_retention_the_download_is_gone_and_then_the_link_unknown(notifying: World) -> None:
    world = notifying
    up = world.upload()
    world.client.put(f"/api/v1/records/{up.record_id}/contact", json={"phone": "13800138000", "consent": True},
                     headers={"Authorization": f"Bearer {world.token}"})
    world.review(up, "approve")
    world.client.post(f"/s/{up.secret}/confirm")
    world.clock.advance(days=366)
    gone = world.client.get(f"/s/{up.secret}/download")
    assert gone.status_code == 410 and "保存期限" in gone.text
    assert world.client.post(f"/s/{up.secret}/confirm").status_code == 410
    assert len(outbox_rows(world)) == 1
    world.state.maintain()
    assert world.status(up) == "gone"
    assert outbox_rows(world) == []
    assert not world.state.photos.exists(sha256(up.photo))
    assert world.client.get(f"/s/{up.secret}/download").status_code == 404


def test_the_code_and_last_four_open_the_same_page(world: World) -> None:
    up = world.upload()
    world.review(up, "approve")
    page = world.client.post("/s", data={"code": f"  {up.code_payload}\n", "last4": "123x", "lang": "zh"})
    assert page.status_code == 200 and "确认照片" in page.text
    assert "data:image/jpeg;base64," in page.text
    confirmed = world.client.post("/s/code/confirm", data={"code": up.code_payload, "last4": "123X"})
    assert confirmed.status_code == 200 and "已确认" in confirmed.text and world.status(up) == "confirmed"
    download = world.client.post("/s/code/download", data={"code": up.code_payload, "last4": "123X"})
    assert download.content == up.photo
    wrong = world.client.post("/s/code/download", data={"code": up.code_payload, "last4": "9999"})
    assert wrong.status_code == 404 and wrong.headers["content-type"].startswith("text/html")


def test_wrong_last_fours_lock_the_code(world: World) -> None:
    up = world.upload()
    for _ in range(5):
        miss = world.client.post("/s", data={"code": up.code_payload, "last4": "0000"})
        assert miss.status_code == 404 and "没有找到" in miss.text
    locked = world.client.post("/s", data={"code": up.code_payload, "last4": "123X"})
    assert locked.status_code == 429 and "分钟后再试" in locked.text
    world.clock.advance(minutes=16)
    assert world.client.post("/s", data={"code": up.code_payload, "last4": "123X"}).status_code == 200


def test_the_access_form_refuses_empty_input(world: World) -> None:
    assert world.client.get("/s").status_code == 200
    assert world.client.post("/s", data={"code": "", "last4": ""}).status_code == 422
    assert world.client.post("/s", content=b"\xff\xfe", headers={"content-type": "multipart/form-data"}
                             ).status_code in (400, 422)


def test_a_result_is_queued_only_with_a_number_and_consent(notifying: World) -> None:
    world = notifying
    silent, told = world.upload(1), world.upload(2)
    answer = world.client.put(f"/api/v1/records/{told.record_id}/contact",
                              json={"phone": "13800138000", "consent": True},
                              headers={"Authorization": f"Bearer {world.token}"})
    assert answer.status_code == 200 and answer.json() == {"record_id": told.record_id, "consent": True}
    assert "138****8000" in world.client.get(f"/s/{told.secret}").text
    assert "短信" not in world.client.get(f"/s/{silent.secret}").text
    world.review(silent, "approve")
    world.review(told, "reject", "眼睛闭合")
    rows = outbox_rows(world)
    assert [(r["record_id"], r["status"], r["reason"], r["channel"]) for r in rows] == [
        (told.record_id, "rejected", "眼睛闭合", "outbox")]
    assert rows[0]["delivered_at"] is None
    report = world.state.outbox.dispatch() if world.state.outbox else None
    assert report is not None and report.sent == 1
    assert outbox_rows(world)[0]["delivered_at"] is not None


def test_no_channel_no_notice_and_no_promise(world: World) -> None:
    up = world.upload()
    world.client.put(f"/api/v1/records/{up.record_id}/contact", json={"phone": "13800138000", "consent": True},
                     headers={"Authorization": f"Bearer {world.token}"})
    assert "短信" not in world.client.get(f"/s/{up.secret}").text
    world.review(up, "approve")
    assert outbox_rows(world) == []


def test_a_notice_rolls_back_with_its_decision(notifying: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world = notifying
    up = world.upload()
    world.client.put(f"/api/v1/records/{up.record_id}/contact", json={"phone": "13800138000", "consent": True},
                     headers={"Authorization": f"Bearer {world.token}"})
    outbox = world.state.outbox
    assert outbox is not None

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(outbox, "enqueue", broken)
    with pytest.raises(RuntimeError):
        world.state.records.review(up.record_id, "approve", None, world.clock.now)
    assert world.status(up) == "queued" and outbox_rows(world) == []


def test_a_failing_channel_keeps_the_notice_pending(tmp_path: Path) -> None:
    class Failing:
        name = "webhook"
        calls = 0

        def deliver(self, notice: Notice) -> None:
            Failing.calls += 1
            raise NotifyError(detail="HTTP 503")

    world = make_world(tmp_path, notifier=Failing())
    up = world.upload()
    world.client.put(f"/api/v1/records/{up.record_id}/contact", json={"phone": "13800138000", "consent": True},
                     headers={"Authorization": f"Bearer {world.token}"})
    world.review(up, "approve")
    world.state.maintain()
    world.state.maintain()
    row = outbox_rows(world)[0]
    assert row["delivered_at"] is None and row["attempts"] == 2 and row["last_error"] == "HTTP 503"
    world.client.__exit__(None, None, None)


def test_contact_is_for_the_uploading_station_only_and_needs_consent(world: World) -> None:
    up = world.upload()
    other = world.state.tokens.issue("station-02", world.clock.now)
    body = {"phone": "13800138000", "consent": True}
    assert_problem(world.client.put(f"/api/v1/records/{up.record_id}/contact", json=body,
                                    headers={"Authorization": f"Bearer {other}"}), 404, "unknown-record")
    for bad in ({"phone": "13800138000", "consent": False}, {"phone": "12345", "consent": True},
                {"phone": "13800138000"}):
        assert_problem(world.client.put(f"/api/v1/records/{up.record_id}/contact", json=bad,
                                        headers={"Authorization": f"Bearer {world.token}"}), 422)
    assert_problem(world.client.put(f"/api/v1/records/{up.record_id}/contact", json=body), 401)
    ok = world.client.put(f"/api/v1/records/{up.record_id}/contact", json=body,
                          headers={"Authorization": f"Bearer {world.token}"})
    assert ok.status_code == 200
    again = world.client.put(f"/api/v1/records/{up.record_id}/contact", json=body,
                             headers={"Authorization": f"Bearer {world.token}"})
    assert again.status_code == 200


def test_lookup_finds_the_students_current_record(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.token}"}
    assert world.client.post("/api/v1/students/lookup", json={"batch": "1s95kt", "student_uid": "uid-1"},
                             headers=headers).json() == {"record": None}
    first = world.upload(1)
    world.review(first, "reject", "模糊")
    found = world.client.post("/api/v1/students/lookup", json={"batch": "1S95KT", "student_uid": "uid-1"},
                              headers=headers).json()["record"]
    assert found["record_id"] == first.record_id and found["status"] == "rejected" and found["reason"] == "模糊"
    world.clock.advance(minutes=5)
    retake = world.upload(1)
    found = world.client.post("/api/v1/students/lookup", json={"batch": "1S95KT", "student_uid": "uid-1"},
                              headers=headers).json()["record"]
    assert found["record_id"] == retake.record_id and found["status"] == "queued" and found["queue_position"] == 1
    assert found["station_id"] == "station-01"
    assert_problem(world.client.post("/api/v1/students/lookup", json={"batch": "1S95KT", "student_uid": "uid-1"}),
                   401)
    assert_problem(world.client.post("/api/v1/students/lookup", json={"batch": "!", "student_uid": "u"},
                                     headers=headers), 422)


def test_the_record_id_page_shows_the_state_only(world: World) -> None:
    up = world.upload()
    world.review(up, "approve")
    page = world.client.get(f"/api/v1/records/{up.record_id}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "审核已通过" in page.text
    assert "photo.jpg" not in page.text and "data:image" not in page.text and "张*伟" not in page.text
    assert 'href="/s?lang=zh"' in page.text


def test_a_reused_secret_is_refused(world: World) -> None:
    up = world.upload(1)
    with pytest.raises(AssertionError):
        world.upload(2, secret=up.secret)
    with world.state.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(records)).scalar_one() == 1


def test_logs_carry_no_secret_phone_or_code(notifying: World, caplog: pytest.LogCaptureFixture) -> None:
    world = notifying
    with caplog.at_level(logging.DEBUG):
        up = world.upload()
        world.client.put(f"/api/v1/records/{up.record_id}/contact", json={"phone": "13800138000", "consent": True},
                         headers={"Authorization": f"Bearer {world.token}"})
        world.review(up, "approve")
        world.client.get(f"/s/{up.secret}")
        world.client.post("/s", data={"code": up.code_payload, "last4": "123X"})
        world.client.post(f"/s/{up.secret}/confirm")
        world.state.maintain()
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("kiosk"))
    assert "record.confirmed" in ours
    for secret in (up.secret, "13800138000", up.code_payload):
        assert secret not in ours


def test_a_decision_reaches_the_webhook_signed(tmp_path: Path) -> None:
    from test_notify import KEY, Receiver

    from kiosk.server.notify import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookNotifier, verify

    receiver = Receiver()
    world = make_world(tmp_path, notifier=WebhookNotifier(receiver.url, KEY))
    try:
        up = world.upload()
        world.client.put(f"/api/v1/records/{up.record_id}/contact", json={"phone": "13800138000", "consent": True},
                         headers={"Authorization": f"Bearer {world.token}"})
        world.review(up, "reject", "眼睛闭合")
        assert world.state.outbox is not None and world.state.outbox.dispatch().sent == 1
        headers, body = receiver.got[0]
        assert verify(KEY, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
        assert b'"status": "rejected"' in body and b"13800138000" in body
        assert world.state.outbox.dispatch().sent == 0  # handed over once
    finally:
        receiver.close()
        world.client.__exit__(None, None, None)


def test_an_unknown_time_zone_is_a_config_error(tmp_path: Path) -> None:
    from kiosk.config import ConfigError

    with pytest.raises(ConfigError) as err:
        make_world(tmp_path, timezone="Mars/Olympus")
    assert "timezone" in err.value.detail
