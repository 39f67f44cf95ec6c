"""The session between the screens and the controller: results that arrive late, after the person left."""

from __future__ import annotations

import threading

import pytest

from kiosk import flow
from kiosk.config import StationConfig
from tests.test_ui_fakes import FOREIGN, GOOD, LAST_FOUR, FakeStation
from tests.test_ui_screens import Harness


class SlowStatusStation(FakeStation):
    """The first status lookup hangs (a stalled server) until the test lets it answer."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.lookups = 0

    def execute(self, effect: flow.Effect) -> list[flow.Event]:
        """Each lookup answers with its own short id; the first waits for ``release``."""
        if isinstance(effect, flow.LookupStatus):
            self.lookups += 1
            n = self.lookups
            if n == 1:
                self.release.wait(10.0)
            return [flow.StatusFound(view=flow.StatusView(short_id=f"STUDENT{n}", status="rejected",
                                                          reason=f"reason of student {n}", refreshed=True))]
        return super().execute(effect)


@pytest.fixture
def slow(qtbot):
    station = SlowStatusStation()
    harness = Harness(qtbot, station)
    yield harness
    station.release.set()
    harness.session.stop()


def test_a_late_status_is_not_shown_to_the_next_student(slow: Harness) -> None:
    w = slow.window
    slow.tap(w.screens["welcome"].status)
    slow.station.scan_next = GOOD  # the first student's code; their lookup hangs
    slow.qtbot.waitUntil(lambda: slow.station.lookups == 1, timeout=5000)
    slow.session.dispatch(flow.BackTapped())  # they give up and leave
    assert slow.screen() == "welcome"
    slow.now += 1.0
    w.screens["welcome"].status.click()  # the next student
    slow.station.scan_next = GOOD
    slow.qtbot.waitUntil(lambda: slow.station.scan_next is None and slow.state.busy, timeout=5000)
    slow.station.release.set()
    slow.qtbot.waitUntil(lambda: slow.station.lookups == 2 and not slow.session.tasks.busy, timeout=5000)
    slow.settle()
    state = slow.state
    assert isinstance(state, flow.StatusShown) and state.view is not None
    assert state.view.short_id == "STUDENT2"
    assert "student 1" not in w.current.position.text()


@pytest.fixture
def ui(qtbot):
    harness = Harness(qtbot, FakeStation())
    yield harness
    harness.session.stop()


def test_the_staff_button_shows_only_where_it_opens_operator_mode(ui: Harness) -> None:
    w = ui.window
    assert w.staff_button.isVisible()
    ui.tap(w.screens["welcome"].start)
    ui.scan(GOOD)
    assert ui.screen() == "verify"
    assert not w.staff_button.isVisible()  # a button that would do nothing mid-session
    ui.send(flow.BackTapped())
    ui.send(flow.BackTapped())
    assert ui.screen() == "welcome" and w.staff_button.isVisible()
    ui.tap(w.staff_button)
    assert ui.screen() == "pin"


class RejectedStation(FakeStation):
    """The student's earlier photo was rejected, with the reviewer's reason."""

    def execute(self, effect: flow.Effect) -> list[flow.Event]:
        """A rejected status for any lookup."""
        if isinstance(effect, flow.LookupStatus):
            self.effects.append(effect)
            return [flow.StatusFound(view=flow.StatusView(short_id="OLD7Q2ZX", status="rejected",
                                                          reason="背景不均匀 uneven background", refreshed=True))]
        return super().execute(effect)


def texts(window) -> str:
    """Every text any widget of the window holds, shown or hidden."""
    from PyQt5.QtWidgets import QLabel, QLineEdit

    found = [w.text() for w in window.findChildren(QLabel)] + [w.text() for w in window.findChildren(QLineEdit)]
    return "\n".join(found)


def test_nothing_of_the_student_stays_in_any_widget_after_the_timeout(qtbot) -> None:
    ui = Harness(qtbot, RejectedStation())
    try:
        w = ui.window
        ui.session.ticker.stop()  # this test is the clock
        ui.tap(w.screens["welcome"].status)
        ui.scan(GOOD)
        assert "uneven background" in w.current.position.text()
        ui.tap(w.current.start)
        assert ui.screen() == "verify"
        ui.type_keys("3(7)")
        assert ui.screen() == "confirm"
        ui.send(flow.ThatsMeTapped())
        ui.send(flow.AgreeTapped())
        ui.send(flow.FeeAcknowledged())
        ui.send(flow.ShutterTapped())
        ui.send(flow.AcceptTapped())
        assert ui.screen() == "done"
        ui.session.dispatch(flow.Tick(now=1000.0))
        ui.session.dispatch(flow.Tick(now=1000.0 + StationConfig().flow.done_timeout_s + 1))
        assert ui.screen() == "welcome"
        left = texts(w)
        for personal in ("OLD7Q2ZX", "uneven background", "张*", "2023000001", "M12345", "R7K1Q"):
            assert personal not in left, personal
        assert w.screens["verify"].keypad.value == "" and w.screens["verify"].keypad.display.text() == "—"
        assert w.screens["review"].photo.pixmap() is None or w.screens["review"].photo.pixmap().isNull()
    finally:
        ui.session.stop()


def test_a_lost_camera_is_said_on_every_screen_with_a_preview(ui: Harness) -> None:
    # a frozen picture with no word would leave the student holding their code up to nothing
    w = ui.window
    ui.tap(w.screens["welcome"].start)
    assert ui.screen() == "scan"
    ui.grabber.state = "disconnected"
    ui.qtbot.waitUntil(lambda: not ui.state.ctx.camera_ok, timeout=3000)
    assert w.current.preview.message == ui.session.window.lang.t("ui.app.camera_lost")
    ui.grabber.state = "ok"
    ui.qtbot.waitUntil(lambda: ui.state.ctx.camera_ok, timeout=3000)
    assert w.current.preview.message == ""
    ui.grabber.state = "disconnected"
    ui.qtbot.waitUntil(lambda: not ui.state.ctx.camera_ok, timeout=3000)
    ui.send(flow.BackTapped())
    ui.send(flow.StatusTapped())
    assert ui.screen() == "status" and w.current.preview.message


def test_the_next_student_is_greeted_in_chinese_again(ui: Harness) -> None:
    w = ui.window
    ui.session.ticker.stop()  # this test is the clock
    ui.tap(w.lang_button)
    assert w.lang.lang == "en"
    ui.tap(w.screens["welcome"].start)
    ui.send(flow.BackTapped())
    assert w.lang.lang == "en"  # the same student, still here
    ui.tap(w.screens["welcome"].start)
    ui.session.dispatch(flow.Tick(now=1000.0))
    ui.session.dispatch(flow.Tick(now=1000.0 + StationConfig().flow.idle_timeout_s + 1))
    assert ui.screen() == "welcome" and w.lang.lang == "zh"
    assert w.screens["welcome"].start.text() == "扫码拍照"


def shown(window) -> str:
    """The texts a person can see on the current screen."""
    from PyQt5.QtWidgets import QLabel

    return "\n".join(label.text() for label in window.current.findChildren(QLabel) if label.isVisible())


def test_calling_staff_after_an_error_is_acknowledged(ui: Harness) -> None:
    # the error stays (it says what went wrong), and the student also sees that staff are coming
    w = ui.window
    called = w.lang.t("ui.welcome.staff_called")
    ui.tap(w.screens["welcome"].start)
    ui.scan(FOREIGN)
    assert w.current.error_key == "code.wrong_batch"
    ui.tap(w.current.findChildren(type(w.staff_button))[0])  # "no code? call staff"
    assert ui.state.staff_called
    assert called in shown(w) and w.current.error_key == "code.wrong_batch"
    ui.scan(GOOD)
    ui.type_keys(LAST_FOUR)
    ui.send(flow.ThatsMeTapped())
    ui.send(flow.AgreeTapped())
    ui.send(flow.FeeAcknowledged())
    ui.send(flow.ShutterTapped())
    ui.station.disk_full = True
    ui.tap(w.current.accept)
    assert w.current.error_key == "flow.error.not_saved_disk_full"
    assert called not in shown(w)
    ui.tap(w.current.call_staff)
    assert called in shown(w) and w.current.error_key == "flow.error.not_saved_disk_full"
    ui.station.disk_full = False
    ui.tap(w.current.retry)
    assert ui.screen() == "done" and called not in shown(w)
