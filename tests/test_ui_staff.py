"""Staff work on the touch screens: the call for staff, Done's promises, the ticket desk, keypads, labels.

Screenshots land in ``artifacts/screens/staff/`` for people to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PyQt5.QtCore import Qt

from kiosk import flow
from tests.test_ui_fakes import UNASKED, FakeStation
from tests.test_ui_screens import Harness

SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screens" / "staff"


class CountingChime:
    def __init__(self) -> None:
        self.rang = 0

    def ring(self) -> None:
        self.rang += 1


@pytest.fixture
def ui(qtbot):
    harness = Harness(qtbot, FakeStation())
    harness.session.chime = CountingChime()
    yield harness
    harness.session.stop()


def shot(ui: Harness, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    ui.qtbot.wait(30)
    assert ui.window.screenshot(str(SHOTS / f"{name}.png"))


def operator(ui: Harness) -> None:
    ui.tap(ui.window.staff_button)
    ui.type_keys("0000")
    assert ui.screen() == "menu"


def test_a_call_for_staff_rings_stays_on_every_screen_and_is_acknowledged(ui: Harness) -> None:
    w = ui.window
    ui.tap(w.screens["welcome"].start)
    ui.tap(w.screens["scan"].findChildren(type(w.staff_button))[0])  # "no code? call staff"
    assert ui.session.chime.rang == 1
    assert w.alert.isVisible() and "学生没有采集码" in w.alert.text() and not w.title.isVisible()
    shot(ui, "01_staff_called")
    ui.tap(w.current.findChildren(type(w.staff_button))[-1])  # back
    assert ui.screen() == "welcome" and w.alert.isVisible()  # the banner outlives the session
    ui.tap(w.lang_button)
    assert "a student has no code" in w.alert.text()
    ui.tap(w.lang_button)
    operator(ui)
    menu = w.current
    assert menu.help_done.isVisible()
    shot(ui, "02_menu_with_call_open")
    ui.tap(menu.help_done)
    assert not w.alert.isVisible() and w.title.isVisible() and not menu.help_done.isVisible()
    assert menu.banner.objectName() == "info" and "已确认" in menu.banner.text()
    shot(ui, "03_staff_alert_acknowledged")


def test_done_shows_the_status_page_its_deadline_and_takes_a_phone_with_consent(ui: Harness) -> None:
    w = ui.window
    ui.tap(w.screens["welcome"].start)
    from tests.test_ui_fakes import GOOD, LAST_FOUR

    ui.scan(GOOD)
    ui.type_keys(LAST_FOUR)
    ui.send(flow.ThatsMeTapped())
    ui.send(flow.AgreeTapped())
    ui.send(flow.FeeAcknowledged())
    ui.send(flow.ShutterTapped())
    ui.send(flow.AcceptTapped())
    done = w.current
    assert ui.screen() == "done"
    assert done.status_qr.text.startswith("https://photos.example.edu.cn/s/")
    assert done.until.isVisible() and "2026-07-01" in done.until.text()
    assert not done.ticket_box.isVisible() and done.finish.isEnabled() and not done.handed.isVisible()
    shot(ui, "04_done_status_page")
    ui.tap(done.contact_button)
    ui.now += 1.0
    assert done.contact_box.isVisible() and not done.codes.isVisible()
    for key in "1380013800":
        ui.qtbot.mouseClick(done.phone_pad.keys[key], Qt.LeftButton)
    ui.tap(done.phone_pad.ok_button)
    assert done.error_key == "flow.error.mobile_invalid"
    shot(ui, "05_done_phone_consent")
    ui.qtbot.mouseClick(done.phone_pad.keys["0"], Qt.LeftButton)
    ui.tap(done.phone_pad.ok_button)
    assert done.contact_saved.isVisible() and not done.contact_box.isVisible() and not done.contact_button.isVisible()
    assert isinstance(ui.station.effects[-1], flow.SaveContact) and ui.station.effects[-1].phone == "13800138000"
    shot(ui, "06_done_phone_saved")


def test_a_printer_error_is_a_note_on_done(ui: Harness) -> None:
    ui.station.printer_broken = True
    from tests.test_ui_fakes import GOOD, LAST_FOUR

    ui.tap(ui.window.screens["welcome"].start)
    ui.scan(GOOD)
    ui.type_keys(LAST_FOUR)
    for event in (flow.ThatsMeTapped(), flow.AgreeTapped(), flow.FeeAcknowledged(),
                  flow.ShutterTapped(), flow.AcceptTapped()):
        ui.send(event)
    assert ui.window.current.banner.objectName() == "warning"
    assert "打印" in ui.window.current.banner.text()


def test_server_unasked_offers_staff_a_decision(ui: Harness) -> None:
    w = ui.window
    ui.tap(w.screens["welcome"].start)
    ui.scan(UNASKED)
    scan = w.current
    assert ui.screen() == "scan" and scan.error_key == "flow.error.server_unasked" and scan.override.isVisible()
    shot(ui, "07_scan_server_unasked")
    ui.tap(scan.override)
    assert ui.screen() == "pin"
    ui.type_keys("0000")
    assert ui.screen() == "verify"


def test_demo_pin_warning_is_amber_and_leaving_asks_first(ui: Harness) -> None:
    w = ui.window
    ui.tap(w.staff_button)
    assert w.current.banner.objectName() == "warning"  # never success green
    ui.type_keys("0000")
    menu = w.current
    assert menu.banner.objectName() == "warning"
    ui.tap(menu.items[flow.MENU_QUIT])
    assert menu.items[flow.MENU_QUIT].text() == "确认退出自助模式" and "再点一次" in menu.banner.text()
    shot(ui, "08_menu_confirm_leave")


def test_ticket_desk_by_touch(ui: Harness) -> None:
    w = ui.window
    operator(ui)
    ui.tap(w.current.items[flow.MENU_TICKETS])
    desk = w.current
    assert ui.screen() == "desk" and desk.phone_pad.isVisible() and not desk.preview.isVisible()
    ui.now += 1.0  # past the tap guard of a screen just shown
    for key in "13800138000":
        ui.qtbot.mouseClick(desk.phone_pad.keys[key], Qt.LeftButton)
    ui.tap(desk.phone_pad.ok_button)
    assert desk.card.isVisible() and desk.ticket_text.text() == "ABCD-EFGH-J"
    shot(ui, "09_desk_ticket_again")
    ui.send(flow.BackTapped())
    ui.tap(desk.waiting)
    assert len(desk.result_buttons) == 1
    shot(ui, "10_desk_waiting_list")
    ui.tap(desk.by_ticket)
    assert desk.ticket_pad.isVisible() and desk.preview.isVisible()


def test_batch_setup_says_fetched_only_after_a_fetch_and_types_by_touch(ui: Harness) -> None:
    w = ui.window
    operator(ui)
    ui.tap(w.current.items[flow.MENU_BATCH])
    batch = w.current
    assert ui.screen() == "batch" and batch.banner.isHidden()  # nothing fetched yet
    ui.tap(batch.pad.clear_button)
    for key in "1S95KT":
        ui.qtbot.mouseClick(batch.pad.keys[key], Qt.LeftButton)
    assert ui.state.typed == "1S95KT"
    ui.tap(batch.pad.ok_button)
    assert batch.banner.objectName() == "info" and "已从服务器获取" in batch.banner.text()
    shot(ui, "11_batch_fetched")


def test_bind_ticket_by_letter_pad(ui: Harness) -> None:
    w = ui.window
    operator(ui)
    ui.tap(w.current.items[flow.MENU_BIND])
    bind = w.current
    for key in "ABCDEFGHJ":
        ui.qtbot.mouseClick(bind.ticket_pad.keys[key], Qt.LeftButton)
    assert ui.state.ticket_text == "ABCDEFGHJ"
    shot(ui, "12_bind_letter_pad")
    ui.tap(bind.ticket_pad.ok_button)
    assert ui.state.stage == "code"


def test_a_locked_code_offers_staff_an_unlock(ui: Harness) -> None:
    w = ui.window
    code = __import__("tests.test_ui_fakes", fromlist=["fake_code"]).fake_code()
    ui.session.state = flow.ScanCode(ctx=ui.state.ctx, error="flow.error.code_locked", staff_called=True, locked=code)
    ui.session.dispatch(flow.Tick(0.0))
    ui.session._render()
    scan = w.current
    assert ui.screen() == "scan" and scan.override.isVisible() and "解锁" in scan.override.text()
    shot(ui, "13_scan_code_locked_unlock")
    ui.tap(scan.override)
    assert ui.screen() == "pin"


def test_a_record_not_uploaded_yet_is_not_called_offline(ui: Harness) -> None:
    view = flow.StatusView(short_id="R7K1Q", status="pending", refreshed=True)
    ui.session.state = flow.StatusShown(ctx=ui.state.ctx, view=view)
    ui.session._render()
    status = ui.window.current
    assert status.freshness.isVisible() and "尚未上传" in status.freshness.text()
    ui.session.state = flow.StatusShown(ctx=ui.state.ctx, view=flow.StatusView(short_id="R7K1Q", status="queued",
                                                                                refreshed=False))
    ui.session._render()
    assert "连不上" in status.freshness.text()


def test_the_headwear_leave_by_touch_shows_on_capture_and_ends_with_the_session(ui: Harness) -> None:
    w = ui.window
    operator(ui)
    item = w.current.items[flow.MENU_HEADWEAR]
    assert item.text() == "允许宗教/医疗头饰（仅本次拍摄）"
    ui.tap(item)
    assert ui.state.ctx.headwear_leave and ui.station.effects[-1] == flow.GrantHeadwear(granted=True)
    assert item.text().startswith("撤销头饰准许") and "下一位学生" in w.current.banner.text()
    shot(ui, "20_headwear_granted")
    ui.send(flow.MenuChosen(item=flow.MENU_CODELESS))
    screen = w.current
    for key in "13800138000":
        ui.qtbot.mouseClick(screen.phone_pad.keys[key], Qt.LeftButton)
    ui.qtbot.keyClicks(screen.fields["id_last4"], "1234")
    ui.send(flow.SubmitTapped())
    ui.send(flow.AgreeTapped())
    if ui.screen() == "fee":
        ui.send(flow.FeeAcknowledged())
    assert ui.screen() == "capture"
    assert w.current.banner.isVisible() and "头饰" in w.current.banner.text()
    assert any(isinstance(e, flow.StartCamera) and e.allow_headwear for e in ui.station.effects)
    shot(ui, "21_headwear_capture")
    ui.send(flow.ShutterTapped())
    assert ui.screen() == "review" and "头饰" in w.current.banner.text() and w.current.banner.isVisible()
    ui.send(flow.AcceptTapped())
    saves = [e for e in ui.station.effects if isinstance(e, flow.SaveRecord)]
    assert saves[-1].headwear_allowed and ui.screen() == "done" and not ui.state.ctx.headwear_leave
    ui.tap(w.current.handed)
    ui.tap(w.current.finish)
    operator(ui)
    assert w.current.items[flow.MENU_HEADWEAR].text() == "允许宗教/医疗头饰（仅本次拍摄）"
