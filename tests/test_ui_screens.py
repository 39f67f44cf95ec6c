"""Every screen and transition on the touch screens, with screenshots in both orientations.

Screenshots land in ``artifacts/screens/{portrait,landscape}/`` for people to look at.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PyQt5.QtCore import Qt

from kiosk import flow
from kiosk.config import StationConfig
from kiosk.ui.app import LANDSCAPE, PORTRAIT
from kiosk.ui.session import Session, build_ui
from kiosk.ui.theme import TOUCH_PX
from tests.test_ui_fakes import BATCH, FOREIGN, GOOD, LAST_FOUR, FakeGrabber, FakeStation

SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"


class Harness:
    """A station window on a fake controller, and the steps a person takes."""

    def __init__(self, qtbot, station: FakeStation, grabber: FakeGrabber | None = None) -> None:
        self.qtbot = qtbot
        self.station = station
        self.grabber = grabber or FakeGrabber()
        self.session: Session = build_ui(StationConfig(), station, self.grabber, batch=BATCH,
                                         kiosk_mode=False, demo_pin=True)
        self.window = self.session.window
        # the tap guard reads this clock: a person's finger arrives a moment after the screen changed
        self.now = 1000.0
        for screen in self.window.screens.values():
            screen.clock = lambda: self.now
        qtbot.addWidget(self.window)
        self.window.resize(*PORTRAIT)
        self.window.show()
        self.session.start()

    @property
    def state(self) -> flow.State:
        return self.session.state

    def screen(self) -> str:
        return self.window.current.name

    def tap(self, button, *, at_once: bool = False) -> None:
        assert button.isVisible() and button.isEnabled(), button.text()
        if not at_once:
            self.now += 1.0  # the person reads the screen before tapping
        self.qtbot.mouseClick(button, Qt.LeftButton)
        self.settle()

    def send(self, event: flow.Event) -> None:
        self.session.dispatch(event)
        self.settle()

    def settle(self) -> None:
        self.qtbot.waitUntil(lambda: not self.session.tasks.busy and not self.state.busy, timeout=5000)

    def scan(self, payload: str) -> None:
        asked = len(self.station.effects)
        self.station.scan_next = payload
        self.qtbot.waitUntil(lambda: self.station.scan_next is None, timeout=5000)
        # the worker's answer reaches the GUI thread as a queued signal: wait until the flow has asked
        # the controller about the code (every scan does), then for the answer
        self.qtbot.waitUntil(lambda: len(self.station.effects) > asked, timeout=5000)
        self.settle()

    def type_keys(self, keys: str) -> None:
        keypad = self.window.current.keypad
        self.now += 1.0
        for key in keys:
            self.qtbot.mouseClick(keypad.keys[key], Qt.LeftButton)
        self.tap(keypad.ok_button)

    def shot(self, name: str) -> None:
        for folder, size in (("portrait", PORTRAIT), ("landscape", LANDSCAPE)):
            self.window.resize(*size)
            self.qtbot.wait(30)
            # a station is laid out once for its display's orientation; turning the window here can leave a
            # layout of the other orientation holding it a few pixels wide until it is asked again
            self.window.resize(*size)
            self.qtbot.wait(10)
            path = SHOTS / folder / f"{name}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            assert self.window.screenshot(str(path)), path
            assert self.window.height() <= size[1] + 1, f"{name} does not fit {folder}"
            assert self.window.width() <= size[0] + 1, f"{name} is wider than the {folder} screen"
            needed = self.window.current.minimumSizeHint().height()
            assert needed <= self.window.stack.height() + 1, f"{name} needs {needed} px in {folder}"
        self.window.resize(*PORTRAIT)
        self.qtbot.wait(10)


@pytest.fixture
def ui(qtbot):
    station = FakeStation()
    harness = Harness(qtbot, station)
    yield harness
    harness.session.stop()


@pytest.mark.slow
def test_student_flow_with_every_bad_input(ui: Harness) -> None:
    w = ui.window
    assert ui.screen() == "welcome"
    assert "400-123-4567" in w.help.text()
    ui.shot("01_welcome")
    ui.tap(w.screens["welcome"].start)
    assert ui.screen() == "scan"
    ui.qtbot.waitUntil(lambda: w.screens["scan"].preview.frames_shown > 3, timeout=3000)
    ui.scan(FOREIGN)
    assert ui.screen() == "scan" and w.current.error_key == "code.wrong_batch"
    ui.shot("02_scan_foreign_code")
    ui.scan(GOOD)
    assert ui.screen() == "verify"
    ui.type_keys("1234")
    assert w.current.error_key == "flow.error.last_four_wrong"
    assert "2" in w.current.banner.text()
    ui.shot("03_verify_wrong_last_four")
    ui.type_keys(LAST_FOUR)
    assert ui.screen() == "confirm"
    assert w.current.values["masked_name"].text() == "张*"
    ui.shot("04_confirm")
    ui.tap(w.current.findChildren(type(w.screens["welcome"].start))[1])
    assert ui.screen() == "consent"
    ui.shot("04b_consent")
    ui.tap(w.current.agree)
    assert ui.screen() == "fee"
    assert "20" in w.current.note.text()
    ui.shot("05_fee")
    ui.tap(w.current.findChildren(type(w.screens["welcome"].start))[-1])
    assert ui.screen() == "capture"
    ui.station.guidance = [flow.Guidance(phase="countdown", count=2, hint_key=None, face=True)]
    ui.qtbot.waitUntil(lambda: w.current.preview.countdown == 2, timeout=3000)
    ui.shot("06_capture_countdown")
    ui.grabber.state = "disconnected"
    ui.qtbot.waitUntil(lambda: not ui.state.ctx.camera_ok, timeout=3000)
    assert w.current.error_key == "flow.error.camera_lost"
    assert not w.current.shutter.isEnabled()
    ui.shot("07_capture_camera_lost")
    ui.grabber.state = "ok"
    ui.qtbot.waitUntil(lambda: ui.state.ctx.camera_ok, timeout=3000)
    assert w.current.error_key is None
    ui.now += 1.0
    ui.qtbot.mouseClick(w.current.preview, Qt.LeftButton)  # tap-to-shoot
    ui.settle()
    assert ui.screen() == "review"
    ui.shot("08_review")
    ui.tap(w.current.retake)
    assert ui.screen() == "capture" and ui.state.student.retakes == 1
    ui.tap(w.current.shutter)
    ui.station.disk_full = True
    ui.tap(w.current.accept)
    assert isinstance(ui.state, flow.Saving)
    assert w.current.error_key == "flow.error.not_saved_disk_full"
    assert w.current.retry.isVisible()
    ui.shot("09_saving_disk_full")
    ui.station.disk_full = False
    ui.station.server_down = True
    ui.tap(w.current.retry)
    assert ui.screen() == "done"
    assert w.current.short_id.text() == "R7K1Q"
    assert w.current.status_box.isVisible() and not w.current.ticket_box.isVisible()
    ui.shot("10_done")
    ui.tap(w.current.findChildren(type(w.screens["welcome"].start))[-1])
    assert ui.screen() == "welcome"
    # nothing of the student is left on any screen
    assert w.screens["done"].short_id.text() == ""
    assert w.screens["review"].photo.pixmap() is None or w.screens["review"].photo.pixmap().isNull()
    assert w.screens["confirm"].values["masked_name"].text() == ""


def test_status_lookup_offline(ui: Harness) -> None:
    ui.station.server_down = True
    ui.tap(ui.window.screens["welcome"].status)
    assert ui.screen() == "status"
    assert ui.window.current.sub.isVisible()  # "show your code"
    ui.shot("11_status_scan")
    ui.scan(GOOD)
    screen = ui.window.current
    assert screen.card.isVisible() and not screen.sub.isVisible()  # no "show your code" over the answer
    assert screen.short_id.text() == "R7K1Q"
    assert screen.freshness.isVisible()
    ui.shot("12_status_found")


def test_a_code_read_from_a_frame_taken_before_back_does_not_reopen_the_status(ui: Harness) -> None:
    ui.tap(ui.window.screens["welcome"].status)
    ui.scan(GOOD)
    assert ui.screen() == "status" and ui.state.view is not None
    held_up = ui.grabber.latest()  # the student still holds the code up as they tap back
    ui.send(flow.BackTapped())
    assert ui.screen() == "welcome"
    asked = len(ui.station.effects)
    # the scan worker finishes that frame only now: its read belongs to the screen the student left
    ui.session.frame_result(held_up, [flow.CodeScanned(GOOD)])
    ui.settle()
    assert ui.screen() == "welcome" and len(ui.station.effects) == asked
    # a frame taken on Welcome is read as usual
    ui.session.frame_result(ui.grabber.latest(), [flow.CodeScanned(GOOD)])
    ui.settle()
    assert len(ui.station.effects) > asked


def test_operator_screens(ui: Harness) -> None:
    w = ui.window
    ui.tap(w.staff_button)
    assert ui.screen() == "pin"
    ui.type_keys("1234")
    assert w.current.error_key == "flow.operator.pin_wrong"
    assert "•" not in w.current.banner.text() and "1234" not in w.current.banner.text()
    ui.shot("13_pin_wrong")
    ui.type_keys("0000")
    assert ui.screen() == "menu"
    ui.shot("14_operator_menu")
    buttons = {b.text(): b for b in w.current.findChildren(type(w.staff_button))}
    ui.tap(buttons["设备状态"])
    assert ui.screen() == "station"
    ui.station.server_down = True
    ui.send(flow.SubmitTapped())
    assert any("last_sync" in k for k in [r.text() for r in w.current.rows]) or len(w.current.rows) == 16
    ui.shot("15_station_status_server_down")
    ui.send(flow.BackTapped())
    ui.send(flow.MenuChosen(item=flow.MENU_BATCH))
    assert ui.screen() == "batch"
    ui.qtbot.keyClicks(w.current.pad, "nope1")  # a physical keyboard types into the letter pad
    ui.send(flow.SubmitTapped())
    assert w.current.error_key == "flow.error.batch_unknown"
    ui.tap(w.current.pad.clear_button)
    ui.qtbot.keyClicks(w.current.pad, "1s95kt")
    ui.send(flow.SubmitTapped())
    assert w.current.error_key is None
    ui.shot("16_batch_setup")
    ui.send(flow.BackTapped())
    ui.send(flow.MenuChosen(item=flow.MENU_STATS))
    assert ui.screen() == "stats"
    ui.shot("17_statistics")
    ui.send(flow.BackTapped())


def test_codeless_capture_and_bind_later(ui: Harness) -> None:
    w = ui.window
    ui.tap(w.staff_button)
    ui.type_keys("0000")
    ui.send(flow.MenuChosen(item=flow.MENU_CODELESS))
    assert ui.screen() == "codeless"
    screen = w.current
    fields = screen.fields
    assert "name" not in fields  # the record needs no name: the code carries it
    for key in "1380013":  # by touch alone
        ui.qtbot.mouseClick(screen.phone_pad.keys[key], Qt.LeftButton)
    assert ui.state.phone == "1380013"
    ui.qtbot.keyClicks(fields["id_last4"], "123x")  # a physical keyboard keeps working
    ui.send(flow.SubmitTapped())
    assert w.current.error_key == "flow.error.phone_invalid"
    ui.shot("18_codeless_bad_phone")
    ui.now += 1.0
    for key in "8000":
        ui.qtbot.mouseClick(screen.phone_pad.keys[key], Qt.LeftButton)
    ui.qtbot.keyClick(fields["id_last4"], Qt.Key_Return)
    ui.settle()
    assert ui.screen() == "consent"  # the codeless student reads the notice and agrees too
    ui.send(flow.AgreeTapped())
    assert ui.screen() in ("fee", "capture")
    if ui.screen() == "fee":
        ui.send(flow.FeeAcknowledged())
    ui.send(flow.ShutterTapped())
    ui.send(flow.AcceptTapped())
    assert ui.screen() == "done"
    assert w.current.ticket_box.isVisible() and w.current.ticket_text.text() == "ABCD-EFGH-J"
    assert w.current.ticket_qr.text == "https://photos.example.edu.cn/bind?ticket=ABCD-EFGH-J"
    assert not w.current.finish.isEnabled()  # the ticket stays until staff confirm the student has it
    ui.shot("19_done_codeless_ticket")
    ui.tap(w.current.handed)
    assert w.current.finish.isEnabled()
    # sync hears the ticket clashed with another station's: the screen shows the server's and holds again
    news = dataclasses.replace(ui.state.receipt, ticket="KLMNPQRS2", ticket_display="KLMN-PQRS-2",
                               ticket_link="https://photos.example.edu.cn/bind?ticket=KLMN-PQRS-2")
    ui.send(flow.ReceiptRefreshed(news))
    assert w.current.ticket_text.text() == "KLMN-PQRS-2" and w.current.ticket_qr.text.endswith("KLMN-PQRS-2")
    assert not w.current.finish.isEnabled() and w.current.handed.isVisible()
    assert w.current.lang.key_of(w.current.banner) == "staff.done.ticket_replaced"
    ui.shot("19b_done_ticket_replaced")
    ui.tap(w.current.handed)
    ui.tap(w.current.finish)
    ui.tap(w.staff_button)
    ui.type_keys("0000")
    ui.send(flow.MenuChosen(item=flow.MENU_BIND))
    assert ui.screen() == "bind"
    ui.qtbot.keyClicks(w.current.ticket, "ZZZZ")
    ui.send(flow.SubmitTapped())
    assert w.current.error_key == "flow.error.ticket_unknown"
    ui.shot("20_bind_unknown_ticket")
    w.current.ticket.clear()
    ui.qtbot.keyClicks(w.current.ticket, "ABCD-EFGH-J")
    ui.send(flow.SubmitTapped())
    assert ui.state.stage == "code"
    ui.shot("21_bind_scan_code")
    ui.scan(GOOD)
    assert ui.state.stage == "last4"
    ui.shot("22_bind_last_four")
    ui.type_keys(LAST_FOUR)
    assert ui.state.stage == "confirm" and w.current.compare.isVisible()
    assert w.current.record_name.text() == "王*" and w.current.code_name.text() == "张*"
    ui.shot("22b_bind_compare")
    ui.tap(w.current.confirm)
    assert ui.state.stage == "done"
    assert w.current.result.text() == "R7K2Q"
    ui.shot("23_bind_done")


def test_english_toggle_on_every_screen(ui: Harness) -> None:
    w = ui.window
    assert w.screens["welcome"].heading.text() == "欢迎使用自助拍照"
    ui.tap(w.lang_button)
    assert w.screens["welcome"].heading.text() == "Welcome to the photo station"
    assert w.lang_button.text() == "中文"
    assert "Help" in w.help.text()
    ui.tap(w.screens["welcome"].start)
    ui.scan(FOREIGN)
    assert "batch" in w.current.banner.text()
    ui.shot("24_scan_error_english")
    ui.tap(w.lang_button)
    assert w.current.heading.text() == "请出示采集码"


def test_idle_timeout_returns_to_welcome_and_wipes(ui: Harness) -> None:
    ui.session.ticker.stop()  # this test is the clock
    ui.tap(ui.window.screens["welcome"].start)
    ui.scan(GOOD)
    ui.type_keys("12")
    assert ui.window.current.keypad.value == "12"
    ui.session.dispatch(flow.Tick(now=1000.0))
    ui.session.dispatch(flow.Tick(now=1000.0 + StationConfig().flow.idle_timeout_s + 1))
    assert ui.screen() == "still_there"  # what was typed would be lost: asked first
    assert ui.window.current.count.text() == str(int(StationConfig().flow.still_there_s))
    ui.session.dispatch(flow.Tick(now=1000.0 + StationConfig().flow.idle_timeout_s + 6))
    assert ui.window.current.count.text() == str(int(StationConfig().flow.still_there_s) - 5)
    ui.shot("25_still_there")
    ui.session.dispatch(flow.Tick(now=1000.0 + StationConfig().flow.idle_timeout_s + 60))
    assert ui.screen() == "welcome"
    assert ui.window.screens["verify"].keypad.value == ""


def test_touch_targets_and_kiosk_close(ui: Harness) -> None:
    from PyQt5.QtWidgets import QPushButton

    for screen in ui.window.screens.values():
        for button in screen.findChildren(QPushButton):
            hint = button.minimumSizeHint()
            assert max(hint.height(), button.minimumHeight()) >= TOUCH_PX - 1, (screen.name, button.text())
    ui.window.allow_close = False
    assert not ui.window.close()
    assert ui.window.isVisible()


def test_every_string_key_the_screens_name_exists() -> None:
    import re

    from kiosk.text import table

    root = Path(__file__).resolve().parents[1] / "kiosk" / "ui"
    source = "".join(p.read_text("utf-8") for p in root.rglob("*.py"))
    keys = set(re.findall(r'"((?:ui|flow)\.[a-z_]+\.[a-z_.]+)"', source))
    assert keys, "no keys found"
    missing = sorted(k for k in keys if k not in table())
    assert not missing, missing


def test_a_message_missing_its_details_never_shows_placeholders(qtbot) -> None:
    from kiosk.ui.i18n import Lang

    lang = Lang("zh")
    shown = lang.t("code.wrong_batch")
    assert "{" not in shown and "…" in shown
    assert lang.t("flow.error.last_four_wrong", n=2).count("2") == 1


def test_operator_leaves_kiosk_mode(ui: Harness) -> None:
    w = ui.window
    w.allow_close = False
    ui.tap(w.staff_button)
    ui.type_keys("0000")
    ui.send(flow.MenuChosen(item=flow.MENU_QUIT))
    assert not w.allow_close and ui.state.confirm_quit  # one tap never leaves: it asks first
    ui.send(flow.MenuChosen(item=flow.MENU_QUIT))
    assert w.allow_close
    assert not w.isVisible()


def test_kiosk_mode_is_fullscreen_frameless_without_cursor(qtbot) -> None:
    from PyQt5.QtWidgets import QApplication

    from kiosk.config import HelpSection
    from kiosk.ui.app import StationWindow
    from kiosk.ui.i18n import Lang

    window = StationWindow(Lang("zh"), HelpSection(), kiosk_mode=True)
    qtbot.addWidget(window)
    window.present()
    try:
        assert window.isFullScreen()
        assert window.windowFlags() & Qt.FramelessWindowHint
        cursor = QApplication.overrideCursor()
        assert cursor is not None and cursor.shape() == Qt.BlankCursor
        assert not window.close()  # a close request is swallowed
        assert window.isVisible()
    finally:
        window.leave_kiosk_mode()
    assert QApplication.overrideCursor() is None
    assert not window.isVisible()
