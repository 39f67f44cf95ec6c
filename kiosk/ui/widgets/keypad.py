"""An on-screen keypad for the last four of an ID number and the operator PIN.

The ID keypad has ``X`` and both parentheses because Hong Kong, Macau and
Taiwan documents end in a check character such as ``3(7)``; what is typed is
handed on as is and normalised by the codes module, never rejected here.
"""

from __future__ import annotations

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import QGridLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from kiosk.ui.i18n import Lang
from kiosk.ui.theme import TOUCH_PX

BACKSPACE = "backspace"
CLEAR = "clear"
SUBMIT = "submit"

# four columns keep the keypad short enough for a landscape screen
ID_KEYS = [["1", "2", "3", BACKSPACE], ["4", "5", "6", CLEAR], ["7", "8", "9", "X"], ["(", "0", ")", SUBMIT]]
PIN_KEYS = [["1", "2", "3", BACKSPACE], ["4", "5", "6", CLEAR], ["7", "8", "9", "0"], [SUBMIT]]


class Keypad(QWidget):
    """Big keys, a display of what was typed, delete, clear and OK.

    Every press is sent as ``pressed`` (a character, or ``BACKSPACE``,
    ``CLEAR``, ``SUBMIT``) for the session to interpret; the display echoes
    locally and is overwritten by ``set_value`` with what the session holds.
    """

    pressed = pyqtSignal(str)
    changed = pyqtSignal(str)
    submitted = pyqtSignal(str)

    def __init__(self, lang: Lang, *, pin: bool = False, max_len: int = 6, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lang = lang
        self.pin = pin
        self.max_len = max_len
        self.value = ""
        self.display = QLabel()
        self.display.setObjectName("keypadDisplay")
        self.display.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.display.setMinimumHeight(TOUCH_PX + 16)
        self.keys: dict[str, QPushButton] = {}
        grid = QGridLayout()
        grid.setSpacing(12)
        self.delete_button = self._key_button("⌫")
        self.delete_button.clicked.connect(self.backspace)
        self.clear_button = self._key_button("")
        lang.bind(self.clear_button, self.clear_button.setText, "ui.verify.clear")
        self.clear_button.clicked.connect(self.clear)
        self.ok_button = self._key_button("")
        self.ok_button.setProperty("primary", True)
        lang.bind(self.ok_button, self.ok_button.setText, "ui.app.ok")
        self.ok_button.clicked.connect(self.submit)
        specials = {BACKSPACE: self.delete_button, CLEAR: self.clear_button, SUBMIT: self.ok_button}
        for r, row in enumerate(PIN_KEYS if pin else ID_KEYS):
            for c, key in enumerate(row):
                button = specials.get(key)
                if button is None:
                    button = self._key_button(key)
                    button.clicked.connect(lambda _=False, k=key: self.press(k))
                    self.keys[key] = button
                span = 4 if len(row) == 1 else 1
                grid.addWidget(button, r, c, 1, span)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.display)
        layout.addLayout(grid)
        self._render()

    def _key_button(self, label: str) -> QPushButton:
        button = QPushButton(label)
        button.setMinimumSize(TOUCH_PX + 24, TOUCH_PX)
        button.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return button

    def press(self, key: str) -> None:
        """Type ``key`` (ignored when the display is full)."""
        if len(self.value) >= self.max_len:
            return
        self.value += key
        self._render()
        self.pressed.emit(key)

    def backspace(self) -> None:
        """Remove the last character."""
        self.value = self.value[:-1]
        self._render()
        self.pressed.emit(BACKSPACE)

    def clear(self) -> None:
        """Empty the display."""
        self.value = ""
        self._render()
        self.pressed.emit(CLEAR)

    def submit(self) -> None:
        """Hand on what was typed (nothing happens while it is empty)."""
        if self.value:
            self.pressed.emit(SUBMIT)
            self.submitted.emit(self.value)

    def set_value(self, value: str) -> None:
        """Show ``value`` (what the session holds), without sending anything."""
        if value != self.value:
            self.value = value
            self._render()

    def _render(self) -> None:
        shown = "•" * len(self.value) if self.pin else self.value
        self.display.setText(shown or "—")
        self.ok_button.setEnabled(bool(self.value))
        self.changed.emit(self.value)

    def keyPressEvent(self, event) -> None:
        """A physical keyboard works too (operators, development)."""
        key = event.text().upper()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submit()
        elif event.key() == Qt.Key.Key_Backspace:
            self.backspace()
        elif key in self.keys:
            self.press(key)
        else:
            super().keyPressEvent(event)
