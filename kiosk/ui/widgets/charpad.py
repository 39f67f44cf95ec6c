"""An on-screen key grid for staff entries: digits for phone numbers, letters and digits for tickets and feature codes.

At most nine keys a row: with 72 px keys the pad stays under 720 px wide, so a
window never needs more width than the smallest screen gives it (a wider
minimum would flip a window between portrait and landscape layouts).

The station has no input method under its compositor and staff carry no
keyboard, so every field staff fill in has its keys on screen. Presses go out
as ``pressed`` (a character, or ``BACKSPACE``/``CLEAR``/``SUBMIT`` as the
last-four keypad sends them); the session holds the value and echoes it back
with ``set_value``. A physical keyboard keeps working (``keyPressEvent``).
"""

from __future__ import annotations

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import QGridLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from kiosk.ui.i18n import Lang
from kiosk.ui.theme import TOUCH_PX
from kiosk.ui.widgets.keypad import BACKSPACE, CLEAR, SUBMIT

DIGITS = "1234567890"  # two rows of five: short enough for a landscape screen beside other things
#: letters and digits in keyboard-like rows (tickets skip I, L, O, U, which read as 1, 1, 0 or never occur)
LETTERS = "1234567890QWERTYPASDFGHJKZXCVBNM-"
FEATURE = "1234567890QWERTYUIOPASDFGHJKLZXCVBNM"


class CharPad(QWidget):
    """A display of what was typed, a grid of ``keys`` and delete / clear / OK."""

    pressed = pyqtSignal(str)

    def __init__(self, lang: Lang, keys: str, *, columns: int, max_len: int = 24, submit_key: str = "ui.app.ok",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.max_len = max_len
        self.value = ""
        self.display = QLabel("—")
        self.display.setObjectName("keypadDisplay")
        self.display.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.display.setMinimumHeight(TOUCH_PX + 8)
        self.keys: dict[str, QPushButton] = {}
        grid = QGridLayout()
        grid.setSpacing(8)
        for i, key in enumerate(keys):
            if key == " ":
                continue
            button = self._button(key)
            button.clicked.connect(lambda _=False, k=key: self.press(k))
            self.keys[key] = button
            grid.addWidget(button, i // columns, i % columns)
        self.delete_button = self._button("⌫")
        self.delete_button.clicked.connect(lambda: self._send(BACKSPACE))
        self.clear_button = self._button("")
        lang.bind(self.clear_button, self.clear_button.setText, "ui.verify.clear")
        self.clear_button.clicked.connect(lambda: self._send(CLEAR))
        self.ok_button = self._button("")
        self.ok_button.setProperty("primary", True)
        lang.bind(self.ok_button, self.ok_button.setText, submit_key)
        self.ok_button.clicked.connect(self.submit)
        specials = (self.delete_button, self.clear_button, self.ok_button)
        if columns - len(keys) % columns >= len(specials) and len(keys) % columns:
            # room left on the last row: one row less, so the pad fits a landscape screen
            for i, button in enumerate(specials, start=len(keys)):
                grid.addWidget(button, i // columns, i % columns)
        else:
            row = (len(keys) + columns - 1) // columns
            third = max(1, columns // 3)
            grid.addWidget(self.delete_button, row, 0, 1, third)
            grid.addWidget(self.clear_button, row, third, 1, third)
            grid.addWidget(self.ok_button, row, 2 * third, 1, columns - 2 * third)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.display)
        layout.addLayout(grid)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # many keys side by side: the common button padding would make a letter row wider than a portrait screen
        self.setStyleSheet("QPushButton { padding: 4px; }")
        self._render()

    def _button(self, label: str) -> QPushButton:
        button = QPushButton(label)
        button.setMinimumSize(TOUCH_PX, TOUCH_PX)
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return button

    def _send(self, key: str) -> None:
        if key == BACKSPACE:
            self.value = self.value[:-1]
        elif key == CLEAR:
            self.value = ""
        self._render()
        self.pressed.emit(key)

    def press(self, key: str) -> None:
        """Type ``key`` (ignored when the entry is full)."""
        if len(self.value) >= self.max_len:
            return
        self.value += key
        self._render()
        self.pressed.emit(key)

    def submit(self) -> None:
        """Hand on what was typed (nothing happens while it is empty)."""
        if self.value:
            self.pressed.emit(SUBMIT)

    def set_value(self, value: str) -> None:
        """Show ``value`` (what the session holds), without sending anything."""
        if value != self.value:
            self.value = value
            self._render()

    def _render(self) -> None:
        self.display.setText(self.value or "—")
        self.ok_button.setEnabled(bool(self.value))

    def keyPressEvent(self, event) -> None:
        """A physical keyboard (or a keyboard-wedge scanner) types too."""
        key = event.text().upper()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submit()
        elif event.key() == Qt.Key.Key_Backspace:
            self._send(BACKSPACE)
        elif key in self.keys:
            self.press(key)
        else:
            super().keyPressEvent(event)
