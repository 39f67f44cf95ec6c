"""The station's window: header, the screens, and help on every screen.

In kiosk mode the window is fullscreen and frameless, the cursor is hidden and
close requests are swallowed (only operator mode's "leave kiosk mode" ends
it); ``--windowed`` gives an ordinary window for development. The layout
follows the window's orientation: 1080x1920 portrait or 1920x1080 landscape.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from types import TracebackType
from typing import Any

from PyQt5.QtCore import QMessageLogContext, Qt, QTimer, QtMsgType, pyqtSignal, qInstallMessageHandler
from PyQt5.QtGui import QCursor
from PyQt5.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.batch import Batch
from kiosk.config import HelpSection
from kiosk.ui import theme
from kiosk.ui.i18n import Lang
from kiosk.ui.screens.base import Screen

log = logging.getLogger(__name__)

PORTRAIT = (1080, 1920)
LANDSCAPE = (1920, 1080)


def _qt_message(kind: QtMsgType, _context: QMessageLogContext, message: str | None) -> None:
    # Qt's own chatter (offscreen plugin notes, XDG paths) goes to the log, not over the demo's output
    if kind in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
        log.error("qt.message text=%s", message)
    else:
        log.info("qt.message text=%s", message)


def ensure_application(argv: list[str] | None = None, *, headless: bool = False) -> QApplication:
    """The one QApplication (offscreen when ``headless``); Qt's messages go to the log."""
    if headless:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = QApplication.instance()
    if app is None:
        qInstallMessageHandler(_qt_message)
        QApplication.setAttribute(Qt.ApplicationAttribute.AA_EnableHighDpiScaling, False)
        app = QApplication(argv or ["kiosk"])
    return app  # type: ignore[return-value]


def survive_handler_errors() -> None:
    """Log an exception escaping a Qt slot instead of letting PyQt abort the station.

    PyQt5 ends the process on an unhandled exception in a slot unless
    ``sys.excepthook`` is set; systemd would restart the station, but the
    student in front of it would lose their session. The flow's own timeouts
    bring the screen back to Welcome if the error left it stuck.
    """

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, tb)
            return
        log.error("ui.unhandled error=%s", kind.__name__, exc_info=(kind, error, tb))

    sys.excepthook = hook


def quit_on_signals(app: QApplication) -> QTimer:
    """SIGTERM and SIGINT end the event loop cleanly (systemd stop, Ctrl-C); keep the returned timer."""

    def stop(signum: int, _frame: object) -> None:
        log.info("app.signal signum=%d", signum)
        app.quit()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Python runs signal handlers only between bytecodes: wake it up now and then
    timer = QTimer()
    timer.timeout.connect(lambda: None)
    timer.start(250)
    return timer


def has_display() -> bool:
    """Whether a graphical display is available."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _activate(widget: QWidget) -> None:
    layout = widget.layout()
    if layout is not None:
        layout.activate()


class StationWindow(QWidget):
    """Header, stacked screens and the help footer."""

    screen_changed = pyqtSignal(str)
    staff_requested = pyqtSignal()
    left_kiosk = pyqtSignal()

    def __init__(self, lang: Lang, help_settings: HelpSection, *, kiosk_mode: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lang = lang
        self.kiosk_mode = kiosk_mode
        self.allow_close = not kiosk_mode
        self.help_settings = help_settings
        self.batch: Batch | None = None
        self.screens: dict[str, Screen] = {}
        self.portrait = True
        self.setObjectName("root")
        self.setWindowTitle(lang.t("ui.app.title"))
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)

        header = QWidget()
        header.setObjectName("header")
        header.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.title = QLabel()
        self.title.setObjectName("title")
        lang.bind(self.title, self.title.setText, "ui.app.title")
        self.batch_line = QLabel()
        self.batch_line.setObjectName("batchLine")
        self.batch_line.setWordWrap(True)
        self.lang_button = QPushButton()
        self.lang_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        lang.bind(self.lang_button, self.lang_button.setText, "ui.app.lang_toggle")
        self.lang_button.clicked.connect(lang.toggle)
        self.staff_button = QPushButton()
        self.staff_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        lang.bind(self.staff_button, self.staff_button.setText, "ui.app.staff")
        self.staff_button.clicked.connect(self.staff_requested.emit)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(self.title)
        titles.addWidget(self.batch_line)
        row = QHBoxLayout(header)
        row.setContentsMargins(32, 12, 24, 12)
        row.addLayout(titles, 1)
        row.addWidget(self.staff_button)
        row.addWidget(self.lang_button)

        self.stack = QStackedWidget()
        footer = QWidget()
        footer.setObjectName("footer")
        footer.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.help = QLabel()
        self.help.setObjectName("help")
        self.help.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.help.setWordWrap(True)
        foot = QHBoxLayout(footer)
        foot.setContentsMargins(24, 10, 24, 10)
        foot.addWidget(self.help)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        layout.addWidget(self.stack, 1)
        layout.addWidget(footer)
        self.set_batch(None)
        self._apply_scale(*PORTRAIT)

    # -- screens -------------------------------------------------------------

    def add_screen(self, screen: Screen) -> Screen:
        """Add ``screen`` to the stack."""
        self.screens[screen.name] = screen
        self.stack.addWidget(screen)
        screen.set_portrait(self.portrait)
        return screen

    def show_screen(self, name: str) -> Screen:
        """Bring screen ``name`` up."""
        screen = self.screens[name]
        if self.stack.currentWidget() is not screen:
            self.stack.setCurrentWidget(screen)
            screen.guard_taps()
            screen.activated()
            log.info("ui.screen name=%s", name)
            self.screen_changed.emit(name)
        return screen

    @property
    def current(self) -> Screen:
        """The screen shown now."""
        return self.stack.currentWidget()  # type: ignore[return-value]

    # -- batch and help --------------------------------------------------------

    def set_batch(self, batch: Batch | None) -> None:
        """Show ``batch`` in the header and its help (or the station's) in the footer."""
        self.batch = batch
        if batch is None:
            self.lang.bind(self.batch_line, self.batch_line.setText, "ui.app.no_batch")
        else:
            dates = batch.start_date if batch.start_date == batch.end_date else f"{batch.start_date} ~ {batch.end_date}"
            self.lang.bind(self.batch_line, self.batch_line.setText, "ui.app.batch_line",
                           school=batch.school_name, code=batch.feature_code, dates=f"{dates} {batch.hours}")
        phone = (batch.help_phone if batch else "") or self.help_settings.phone
        hours = (batch.help_hours if batch else "") or self.help_settings.hours
        self.lang.bind(self.help, self.help.setText, "ui.app.help", phone=phone, hours=hours)

    # -- window behaviour ---------------------------------------------------------

    def present(self) -> None:
        """Show the window: fullscreen, frameless, no cursor in kiosk mode."""
        if self.kiosk_mode:
            flags = Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint
            self.setWindowFlags(self.windowFlags() | flags)  # type: ignore[arg-type]
            QApplication.setOverrideCursor(QCursor(Qt.CursorShape.BlankCursor))
            display = QApplication.primaryScreen()
            if display is not None:
                # laid out for the display's orientation first, so no page asks for more than it has
                self._apply_scale(display.geometry().width(), display.geometry().height())
            self.showFullScreen()
        else:
            self.resize(540, 960)
            self.show()

    def leave_kiosk_mode(self) -> None:
        """Allow closing and close (operator mode only); the last window closed ends the app."""
        log.info("ui.leave_kiosk")
        self.allow_close = True
        if self.kiosk_mode:
            QApplication.restoreOverrideCursor()
        self.close()
        self.left_kiosk.emit()

    def closeEvent(self, event: Any) -> None:
        """Swallowed in kiosk mode unless the operator left it."""
        if self.allow_close:
            event.accept()
        else:
            log.info("ui.close_ignored")
            event.ignore()

    def resize(self, *size: Any) -> None:
        """Lay the screens out for the new orientation first, then resize.

        Otherwise a page laid out for the other orientation could hold the
        window larger than asked until it is re-laid.
        """
        width, height = (size[0].width(), size[0].height()) if len(size) == 1 else size
        self._apply_scale(int(width), int(height))
        super().resize(*size)

    def resizeEvent(self, event: Any) -> None:
        """Re-lay the screens for the new orientation and font scale."""
        super().resizeEvent(event)
        self._apply_scale(self.width(), self.height())

    def _apply_scale(self, width: int, height: int) -> None:
        portrait = height >= width
        scale = theme.Scale.for_size(width, height)
        sheet = theme.style_sheet(scale)
        if sheet != self.styleSheet():
            self.setStyleSheet(sheet)
        if portrait != self.portrait or not self.screens:
            self.portrait = portrait
            for screen in self.screens.values():
                screen.set_portrait(portrait)
                _activate(screen)  # the new minimum counts at once, not after the next event loop
            self.stack.updateGeometry()
            _activate(self)

    def screenshot(self, path: str) -> bool:
        """Save what the window shows as a PNG."""
        return self.grab().save(path, "PNG")
