"""Screens whose input is the on-screen keypad: the ID's last four and the operator PIN."""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QSizePolicy

from kiosk import flow
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets import keypad as kp
from kiosk.ui.widgets.keypad import Keypad


def key_event(key: str) -> flow.Event:
    """The flow event of a keypad press."""
    if key == kp.BACKSPACE:
        return flow.BackspacePressed()
    if key == kp.CLEAR:
        return flow.ClearPressed()
    if key == kp.SUBMIT:
        return flow.SubmitTapped()
    return flow.KeyPressed(key=key)


class KeypadScreen(Screen):
    """A keypad that forwards presses to the flow and shows the state's ``typed``."""

    keeps_banner_space = True

    sub_key = ""
    aside_key = ""  # examples beside (landscape) or below (portrait) the keypad
    pin = False  # digits only, shown as dots
    max_len = flow.LAST_FOUR_MAX

    def build(self) -> None:
        """Keypad and back."""
        self.sub.show()
        self.lang.bind(self.sub, self.sub.setText, self.sub_key)
        self.keypad = Keypad(self.lang, pin=self.pin, max_len=self.max_len)
        self.keypad.pressed.connect(lambda key: self.send(key_event(key)))
        self.first.addWidget(self.keypad, 1)
        if self.aside_key:
            aside = self.label(self.aside_key, "sub")
            aside.setAlignment(Qt.AlignmentFlag.AlignCenter)
            # a wrapped label asks for height it does not need; the keypad decides the screen's height
            aside.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)
            self.second.addWidget(aside, 1)
        self.buttons_row.addWidget(self.button("ui.app.back", flow.BackTapped()))

    def show_state(self, state: flow.State) -> None:
        """What was typed (or its dots); the keypad rests while the entry is checked."""
        self.keypad.set_value(getattr(state, "typed", ""))
        self.keypad.setEnabled(not state.busy)
        super().show_state(state)

    def reset(self) -> None:
        """Empty keypad: nothing typed by the previous person stays."""
        super().reset()
        self.keypad.set_value("")
