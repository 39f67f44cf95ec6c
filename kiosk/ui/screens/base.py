"""The frame every screen shares: heading, inline messages, two panes, actions.

A screen renders the flow state it is given (``show_state``) and forwards what
people do as flow events (``kiosk.flow``); it never decides where the session
goes.
Errors appear inline in a banner on the screen itself, never in a modal box.
In portrait the two panes stack; in landscape they sit side by side.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import QBoxLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from kiosk import flow
from kiosk.flow import Event, State
from kiosk.ui.i18n import Lang


class Screen(QWidget):
    """Base of all screens."""

    #: whether the hidden banner keeps its space (screens with keypads: a key must never move)
    keeps_banner_space = False

    #: a flow event caused by a person on this screen
    intent = pyqtSignal(object)

    #: the screen's name (screenshots, tests, the session's mapping)
    name = "screen"
    #: strings-table key of the heading
    heading_key = ""
    #: seconds taps are ignored after this screen comes up: a finger on its way to the previous screen's
    #: button must not press whatever is here now (set from ``[flow] tap_guard_s``)
    tap_guard_s = 0.6
    #: monotonic seconds (tests replace it)
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, lang: Lang, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lang = lang
        self._quiet_until = 0.0
        self.dropped_taps = 0
        self.setObjectName(self.name)
        self.heading = self.label(self.heading_key, "heading") if self.heading_key else QLabel()
        self.heading.setObjectName("heading")
        self.heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.heading.setWordWrap(True)
        self.sub = QLabel()
        self.sub.setObjectName("sub")
        self.sub.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.sub.setWordWrap(True)
        self.sub.hide()
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # on screens with keys, the banner's space is kept while it is hidden: keys never move under a finger
        policy = self.banner.sizePolicy()
        policy.setRetainSizeWhenHidden(self.keeps_banner_space)
        self.banner.setSizePolicy(policy)
        self.banner.hide()
        # "staff are coming" beside an error that stays on screen (the banner holds one message)
        self.staff_note = self.label("ui.welcome.staff_called", "info")
        self.staff_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.staff_note.hide()
        self.first = QVBoxLayout()
        self.second = QVBoxLayout()
        self.split = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.split.setSpacing(24)
        self.split.addLayout(self.first, 3)
        self.split.addLayout(self.second, 2)
        self.buttons_row = QHBoxLayout()
        self.buttons_row.setSpacing(20)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(40, 16, 40, 16)
        outer.setSpacing(8)
        outer.addWidget(self.heading)
        outer.addWidget(self.sub)
        outer.addWidget(self.banner)
        outer.addWidget(self.staff_note)
        outer.addLayout(self.split, 1)
        outer.addLayout(self.buttons_row)
        self.build()

    # -- building blocks -------------------------------------------------

    def build(self) -> None:
        """Add the screen's own widgets (subclasses)."""

    def label(self, key: str = "", object_name: str = "", **params: Any) -> QLabel:
        """A word-wrapped label bound to ``key``."""
        label = QLabel()
        label.setWordWrap(True)
        if object_name:
            label.setObjectName(object_name)
        if key:
            self.lang.bind(label, label.setText, key, **params)
        return label

    def button(self, key: str, event: Event | None = None, *, primary: bool = False, main: bool = False,
               **params: Any) -> QPushButton:
        """A touch button bound to ``key``; a tap sends ``event``; ``main``: the screen's one big action."""
        button = QPushButton()
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        if primary or main:
            button.setProperty("primary", True)
        if main:
            button.setProperty("main", True)
        self.lang.bind(button, button.setText, key, **params)
        if event is not None:
            button.clicked.connect(lambda _=False: self.send(event))
        return button

    def send(self, event: Event) -> None:
        """Forward what the person did; a tap while the screen has only just come up is dropped.

        Text typed into a field is never dropped: the field already shows it.
        """
        if not isinstance(event, flow.FieldEdited) and not self.ready():
            self.dropped_taps += 1
            return
        self.intent.emit(event)

    def ready(self) -> bool:
        """Whether taps count yet: the guard after the screen came up has passed."""
        return self.clock() >= self._quiet_until

    def guard_taps(self) -> None:
        """Ignore taps for ``tap_guard_s`` from now (the screen has just come up)."""
        self._quiet_until = self.clock() + self.tap_guard_s

    # -- what the session calls -------------------------------------------

    def show_state(self, state: State) -> None:
        """Render ``state``: the base shows its inline error; subclasses add the rest."""
        if state.error:
            self.set_error(state.error, **flow.message_params(state))
        elif self.error_key is not None:
            self.set_error(None)
        self.staff_note.setVisible(bool(state.error) and bool(getattr(state, "staff_called", False)))
        preview = getattr(self, "preview", None)
        if preview is not None:
            # a frozen picture needs a word: the camera is gone and being reconnected
            preview.message = "" if state.ctx.camera_ok else self.lang.t("ui.app.camera_lost")
            preview.update()

    def reset(self) -> None:
        """Forget everything shown (a new student): subclasses clear their fields."""
        self.set_error(None)
        self.staff_note.hide()

    def set_error(self, key: str | None, **params: Any) -> None:
        """Show ``key`` as an inline error, or hide the banner when ``key`` is None."""
        self._set_banner("error", key, params)

    def set_info(self, key: str | None, **params: Any) -> None:
        """Show ``key`` as an inline notice, or hide the banner when ``key`` is None."""
        self._set_banner("info", key, params)

    def _set_banner(self, kind: str, key: str | None, params: dict[str, Any]) -> None:
        if key is None:
            self.lang.unbind(self.banner)
            self.banner.hide()
            return
        self.banner.setObjectName(kind)
        self.banner.setStyleSheet("")  # re-polish for the new object name
        self.lang.bind(self.banner, self.banner.setText, key, **params)
        self.banner.show()

    @property
    def error_key(self) -> str | None:
        """The key of the inline error shown, if any (tests)."""
        if self.banner.isHidden() or self.banner.objectName() != "error":
            return None
        return self.lang.key_of(self.banner)

    def set_portrait(self, portrait: bool) -> None:
        """Stack the panes in portrait; side by side in landscape."""
        self.split.setDirection(QBoxLayout.Direction.TopToBottom if portrait else QBoxLayout.Direction.LeftToRight)

    def resizeEvent(self, event: Any) -> None:
        """Reserve two lines for the banner at the font the style sheet gives it."""
        super().resizeEvent(event)
        self._reserve_banner()

    def _reserve_banner(self) -> None:
        self.banner.ensurePolished()
        lines = self.banner.fontMetrics().lineSpacing() * 2
        self.banner.setMinimumHeight(lines + 32)  # padding and border of #error / #info

    def activated(self) -> None:
        """Called when the screen comes up (subclasses: focus, start animations)."""
