"""The student screens keep their promises: nothing pressed by accident, nothing moves, all readable.

Screenshots of the new screens land in ``artifacts/screens/{portrait,landscape}/`` beside the others.
"""

from __future__ import annotations

import numpy as np
import pytest
from PyQt5.QtCore import QPoint, QRect, QRectF, Qt
from PyQt5.QtGui import QFontMetricsF
from PyQt5.QtWidgets import QWidget

from kiosk import flow
from kiosk.text import text
from kiosk.ui import theme
from kiosk.ui.app import LANDSCAPE, PORTRAIT
from tests.test_ui_fakes import GOOD, LAST_FOUR, FakeStation
from tests.test_ui_screens import Harness

#: the capture hints the issue saw clipped
HINTS = [f"portrait.hint.{k}" for k in ("background", "background_colour", "clothing", "eyes", "head_top", "move_down")]


@pytest.fixture
def ui(qtbot):
    harness = Harness(qtbot, FakeStation())
    harness.session.ticker.stop()  # the tests are the clock
    yield harness
    harness.session.stop()


def rect_in_window(widget: QWidget, window: QWidget) -> QRect:
    """``widget``'s rectangle in ``window``'s coordinates."""
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def to_capture(ui: Harness) -> None:
    ui.tap(ui.window.screens["welcome"].start)
    ui.scan(GOOD)
    ui.type_keys(LAST_FOUR)
    ui.send(flow.ThatsMeTapped())
    ui.send(flow.AgreeTapped())
    ui.send(flow.FeeAcknowledged())
    assert ui.screen() == "capture"


# -- taps that were meant for the previous screen ---------------------------------------------


def test_a_tap_right_after_the_screen_changes_is_ignored(ui: Harness) -> None:
    welcome = ui.window.screens["welcome"]
    ui.tap(welcome.start)
    assert ui.screen() == "scan"
    back = ui.window.current.buttons_row.itemAt(0).widget()
    ui.tap(back, at_once=True)  # the finger was already on its way
    assert ui.screen() == "scan" and ui.window.current.dropped_taps == 1
    ui.tap(back)  # a moment later it counts
    assert ui.screen() == "welcome"


def test_review_puts_nothing_costly_where_captures_buttons_were(ui: Harness) -> None:
    # auto-capture brings Review up under a finger aimed at Capture's cancel or shutter
    w = ui.window
    for size in (PORTRAIT, LANDSCAPE):
        w.resize(*size)
        ui.qtbot.wait(30)
        capture, review = w.screens["capture"], w.screens["review"]
        w.show_screen("review")
        review.show_state(flow.Review(ctx=ui.state.ctx, student=flow.Student(code=None, id_last4="1234"),
                                      photo=None))
        ui.qtbot.wait(30)
        w.show_screen("capture")
        ui.qtbot.wait(30)
        aimed = [rect_in_window(b, w) for b in (capture.cancel, capture.shutter)]
        w.show_screen("review")
        ui.qtbot.wait(30)
        for costly in (review.retake, review.accept):
            assert costly.isVisible()
            spot = rect_in_window(costly, w)
            assert not any(spot.intersects(a) for a in aimed), (size, costly.text())
        # cancel is where cancel was: the same intent under the same finger
        assert rect_in_window(review.cancel, w) == aimed[0]
    w.resize(*PORTRAIT)


def test_review_has_a_cancel(ui: Harness) -> None:
    to_capture(ui)
    ui.tap(ui.window.current.shutter)
    assert ui.screen() == "review"
    ui.tap(ui.window.current.cancel)
    assert ui.screen() == "welcome" and isinstance(ui.state, flow.Welcome)


# -- nothing moves under a finger ---------------------------------------------------------------


@pytest.mark.parametrize("size", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
def test_the_keypad_stays_put_when_the_error_comes_and_goes(ui: Harness, size: tuple[int, int]) -> None:
    w = ui.window
    w.resize(*size)
    ui.tap(w.screens["welcome"].start)
    ui.scan(GOOD)
    screen = w.current
    key = screen.keypad.keys["2"]
    ui.qtbot.wait(30)
    before = rect_in_window(key, w)
    ui.type_keys("1234")  # wrong: the banner says so (two lines in portrait)
    assert screen.error_key == "flow.error.last_four_wrong"
    ui.qtbot.wait(30)
    assert rect_in_window(key, w) == before
    ui.tap(key)  # the next key press hides the banner
    assert screen.error_key is None
    ui.qtbot.wait(30)
    assert rect_in_window(key, w) == before
    w.resize(*PORTRAIT)


# -- sizes and contrast ------------------------------------------------------------------------


@pytest.mark.parametrize("size", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
def test_the_main_buttons_are_larger_than_the_rest(ui: Harness, size: tuple[int, int]) -> None:
    w = ui.window
    w.resize(*size)
    ui.qtbot.wait(30)
    welcome = w.screens["welcome"]
    assert welcome.start.height() >= theme.MAIN_PX
    assert welcome.start.height() >= 1.5 * welcome.status.height()
    to_capture(ui)
    ui.qtbot.wait(30)
    capture = w.screens["capture"]
    assert capture.shutter.height() >= theme.MAIN_PX
    assert capture.shutter.height() >= 1.5 * capture.cancel.height()
    assert capture.shutter.width() > capture.cancel.width()
    w.resize(*PORTRAIT)


def test_every_text_colour_pair_meets_wcag_aa() -> None:
    low = {name: round(theme.contrast_ratio(fg, bg), 2) for name, (fg, bg) in theme.TEXT_PAIRS.items()
           if theme.contrast_ratio(fg, bg) < 4.5}
    assert low == {}
    assert theme.contrast_ratio("#b0bac6", "#ffffff") < 2  # the old disabled grey, for the record
    assert theme.DISABLED_TEXT in theme.style_sheet(theme.Scale.for_size(*PORTRAIT))


def drawn_contrast(widget: QWidget) -> float:
    """The contrast of the darkest drawn pixel against the commonest one (the background)."""
    image = widget.grab().toImage().convertToFormat(4)  # QImage.Format_RGB32
    w, h = image.width(), image.height()
    raw = np.frombuffer(image.bits().asstring(image.byteCount()), np.uint8).reshape(h, image.bytesPerLine() // 4, 4)
    inner = raw[6:h - 6, 6:w - 6, :3].reshape(-1, 3)  # inside the border
    colours, counts = np.unique(inner, axis=0, return_counts=True)
    bg = colours[counts.argmax()]
    darkest = inner[inner.sum(axis=1).argmin()]

    def hexed(c: np.ndarray) -> str:
        return f"#{int(c[2]):02x}{int(c[1]):02x}{int(c[0]):02x}"  # BGRA in memory

    return theme.contrast_ratio(hexed(darkest), hexed(bg))


def test_no_retakes_left_is_readable(ui: Harness) -> None:
    w = ui.window
    review = w.screens["review"]
    student = flow.Student(code=None, id_last4="1234", retakes=ui.state.ctx.settings.max_retakes)
    w.show_screen("review")
    review.show_state(flow.Review(ctx=ui.state.ctx, student=student, photo=None))
    ui.qtbot.wait(30)
    assert not review.retake.isEnabled() and review.retake.text() == text("ui.review.no_retake", "zh")
    assert drawn_contrast(review.retake) >= 4.5


def test_device_status_is_said_in_words_not_colour_alone(ui: Harness) -> None:
    board = ui.window.screens["station"]
    items = (flow.HealthItem("disk", True, "12.3 GB"), flow.HealthItem("server", False, "-",
                                                                     "flow.health.server_unreachable"))
    board.show_state(flow.StationStatus(ctx=ui.state.ctx, items=items))
    values = [label.text() for label in board.rows[1::2]]
    assert values[0].startswith("✓ 正常") and "12.3 GB" in values[0]
    assert values[1].startswith("✗ 异常")


# -- the capture hint -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
def test_a_long_hint_wraps_to_every_line_it_needs(ui: Harness, size: tuple[int, int]) -> None:
    w = ui.window
    w.resize(*size)
    to_capture(ui)
    preview = w.current.preview
    long_hint = max((text(k, "zh") for k in HINTS), key=len)
    assert len(long_hint) > 13  # the old one-line box clipped these
    font = preview.banner_font()
    pad = font.pixelSize() * 0.5
    short = preview.banner_rect("请靠近", preview.height() * 0.8, bottom=True)
    tall = preview.banner_rect(long_hint, preview.height() * 0.8, bottom=True)
    flags = int(Qt.AlignmentFlag.AlignCenter) | int(Qt.TextFlag.TextWordWrap)
    needed = QFontMetricsF(font).boundingRect(QRectF(0, 0, tall.width() - 2 * pad, 10_000), flags, long_hint)
    assert needed.height() <= tall.height() - 2 * pad + 0.5  # as many lines as it needs
    if size == PORTRAIT:
        assert tall.height() > short.height() + font.pixelSize()  # it did wrap here
    assert tall.top() >= 0 and tall.bottom() <= preview.height()  # and all of it inside the picture
    assert font.pixelSize() >= 24  # readable at arm's length
    ui.station.guidance = [flow.Guidance(phase="waiting", hint_key="portrait.hint.clothing", face=True)]
    ui.qtbot.waitUntil(lambda: ui.state.hint_key == "portrait.hint.clothing", timeout=3000)
    preview.set_overlay(hint=long_hint)
    ui.shot("26_capture_long_hint")
    w.resize(*PORTRAIT)


# -- Welcome -------------------------------------------------------------------------------------------


def test_welcome_has_a_visible_no_code_button(ui: Harness) -> None:
    welcome = ui.window.screens["welcome"]
    assert welcome.no_code.isVisible() and welcome.no_code.height() >= theme.TOUCH_PX
    ui.tap(welcome.no_code)
    assert ui.screen() == "scan" and ui.state.staff_called
    assert flow.CallStaff(reason="no_code") in ui.station.effects


def test_a_code_held_up_on_welcome_starts_the_capture(ui: Harness) -> None:
    ui.scan(GOOD)
    assert ui.screen() == "verify"


class CapturedStation(FakeStation):
    """This student's photo is already in review."""

    def execute(self, effect: flow.Effect) -> list[flow.Event]:
        if isinstance(effect, flow.ParseCode) and effect.purpose == "capture":
            self.effects.append(effect)
            from tests.test_ui_fakes import fake_code

            return [flow.AlreadyCaptured(fake_code(), flow.StatusView(short_id="R7K1Q", status="queued",
                                                                      queue_position=3))]
        return super().execute(effect)


def test_a_code_held_up_on_welcome_shows_the_status_of_a_photo_in_review(qtbot) -> None:
    ui = Harness(qtbot, CapturedStation())
    try:
        ui.scan(GOOD)
        screen = ui.window.current
        assert ui.screen() == "status" and screen.card.isVisible()
        assert not screen.start.isVisible()
        assert screen.error_key is None  # news, not a red error
        assert screen.banner.text() == text("flow.status.already_captured", "zh")
        ui.shot("27_welcome_code_already_captured")
    finally:
        ui.session.stop()


def test_no_record_here_names_the_button_that_is_there(ui: Harness) -> None:
    status = ui.window.screens["status"]
    ui.window.show_screen("status")
    status.show_state(flow.StatusShown(ctx=ui.state.ctx, code=object(), error="flow.status.none"))  # type: ignore[arg-type]
    assert status.start.isVisible() and status.error_key is None
    assert f"“{status.start.text()}”" in status.banner.text()


# -- consent, dress rules, still there, attract ----------------------------------------------------------


def test_consent_before_the_camera(ui: Harness) -> None:
    ui.tap(ui.window.screens["welcome"].start)
    ui.scan(GOOD)
    ui.type_keys(LAST_FOUR)
    ui.send(flow.ThatsMeTapped())
    assert ui.screen() == "consent" and flow.frame_use(ui.state) is None
    screen = ui.window.current
    notice = "\n".join(label.text() for label in screen.notice_lines)
    for words in ("敏感个人信息", "一年", "学信网", "不同意"):
        assert words in notice
    rules = "\n".join(label.text() for label in screen.rule_lines)
    for words in ("免冠", "有色眼镜", "反光", "眉毛", "耳朵", "衣领"):
        assert words in rules
    figure = screen.figure.grab().toImage()
    centre = figure.pixelColor(figure.width() // 2, figure.height() // 20)
    assert (centre.red(), centre.green(), centre.blue()) == (100, 197, 255)  # the standard's blue behind the head
    ui.shot("28_consent")
    ui.tap(screen.agree)
    assert ui.screen() == "fee"


def test_declining_consent_ends_the_session(ui: Harness) -> None:
    ui.tap(ui.window.screens["welcome"].start)
    ui.scan(GOOD)
    ui.type_keys(LAST_FOUR)
    ui.send(flow.ThatsMeTapped())
    ui.tap(ui.window.current.decline)
    assert ui.screen() == "welcome"


def test_still_there_keeps_the_photo_with_one_tap(ui: Harness) -> None:
    to_capture(ui)
    ui.tap(ui.window.current.shutter)
    assert ui.screen() == "review"
    settings = ui.state.ctx.settings
    ui.send(flow.Tick(now=2000.0))
    ui.send(flow.Tick(now=2000.0 + settings.idle_timeout_s))
    screen = ui.window.current
    assert ui.screen() == "still_there" and screen.count.text() == str(int(settings.still_there_s))
    assert screen.go_on.height() >= theme.MAIN_PX
    assert text("ui.still_there.heading", "zh") == screen.question.text()
    ui.tap(screen.go_on)
    assert ui.screen() == "review" and isinstance(ui.state, flow.Review)


def test_the_attract_screen_shows_the_steps_and_a_touch_comes_back(ui: Harness) -> None:
    settings = ui.state.ctx.settings
    ui.send(flow.Tick(now=3000.0))
    ui.send(flow.Tick(now=3000.0 + settings.attract_after_s))
    assert ui.screen() == "attract"
    screen = ui.window.current
    assert [s.text() for s in screen.steps] == [text(f"ui.attract.step{i}", "zh") for i in range(1, 5)]
    ui.shot("29_attract")
    ui.now += 1.0
    ui.qtbot.mouseClick(screen, Qt.LeftButton, pos=screen.rect().center())
    ui.settle()
    assert ui.screen() == "welcome"
