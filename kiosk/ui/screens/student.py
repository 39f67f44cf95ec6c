"""The first screens of a student's session: Welcome, Scan code, Verify, Confirm, Fee notice."""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QFormLayout, QFrame, QLabel

from kiosk import flow
from kiosk.ui.screens.base import Screen
from kiosk.ui.screens.keyed import KeypadScreen
from kiosk.ui.widgets.preview import Preview


class WelcomeScreen(Screen):
    """Batch, school and date (in the header), the way in, status lookup, "no code?"."""

    name = "welcome"
    heading_key = "ui.welcome.heading"

    def build(self) -> None:
        """Intro, start, status and no-code buttons."""
        intro = self.label("ui.welcome.intro", "sub")
        intro.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.start = self.button("ui.welcome.start", flow.StartTapped(), main=True)
        self.status = self.button("ui.welcome.status", flow.StatusTapped())
        self.no_code = self.button("ui.welcome.no_code", flow.NoCodeTapped())
        self.first.addStretch(1)
        self.first.addWidget(intro)
        self.first.addSpacing(24)
        self.first.addWidget(self.start)
        hold_up = self.label("ui.welcome.no_code_hint", "sub")
        hold_up.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.first.addWidget(hold_up)
        self.first.addStretch(1)
        self.second.addStretch(1)
        self.second.addWidget(self.status)
        self.second.addSpacing(16)
        self.second.addWidget(self.no_code)
        self.second.addStretch(1)

    def show_state(self, state: flow.State) -> None:
        """The inline error (no batch, a code shown here that cannot be used)."""
        super().show_state(state)
        if state.busy and not state.error:
            self.set_info("ui.app.busy")
        elif not state.error:
            self.set_info(None)


class ScanScreen(Screen):
    """The live preview while a collection code is shown to the camera."""

    name = "scan"
    heading_key = "ui.scan.heading"

    def __init__(self, lang: Any, *, mirror: bool = True) -> None:
        self.mirror = mirror
        super().__init__(lang)

    def build(self) -> None:
        """Preview, hint, "no code?" and back."""
        self.preview = Preview(mirror=self.mirror)
        self.first.addWidget(self.preview, 1)
        hint = self.label("ui.scan.hint", "sub")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.second.addStretch(1)
        self.second.addWidget(hint)
        self.second.addWidget(self.button("ui.scan.no_code", flow.NoCodeTapped()))
        # the server could not be asked about this student: staff decide, behind the PIN
        self.override = self.button("staff.scan.override", flow.StaffOverrideTapped())
        self.override.hide()
        self.second.addWidget(self.override)
        self.second.addStretch(1)
        self.buttons_row.addWidget(self.button("ui.app.back", flow.BackTapped()))

    def show_state(self, state: flow.State) -> None:
        """Error of the last code shown, "staff called", or progress."""
        super().show_state(state)
        locked = getattr(state, "locked", None) is not None
        self.override.setVisible((locked or getattr(state, "unconfirmed", None) is not None) and not state.busy)
        self.lang.bind(self.override, self.override.setText, "staff.scan.unlock" if locked else "staff.scan.override")
        if state.error:
            return
        if getattr(state, "staff_called", False):
            self.set_info("ui.welcome.staff_called")
        elif state.busy:
            self.set_info("ui.app.busy")
        else:
            self.set_info(None)

    def reset(self) -> None:
        """No frame of the previous student stays on screen."""
        super().reset()
        self.preview.clear_frame()


class VerifyScreen(KeypadScreen):
    """The keypad for the last four characters of the ID number (with X and parentheses)."""

    name = "verify"
    heading_key = "ui.verify.heading"
    sub_key = "ui.verify.sub"
    aside_key = "ui.verify.examples"


class ConfirmScreen(Screen):
    """The code's masked name, school and student number: "this is me" or "not me"."""

    name = "confirm"
    heading_key = "ui.confirm.heading"

    def build(self) -> None:
        """A card of the code's public fields and the two answers."""
        card = QFrame()
        card.setObjectName("card")
        self.form = QFormLayout(card)
        self.form.setContentsMargins(32, 24, 32, 24)
        self.form.setVerticalSpacing(18)
        self.values: dict[str, QLabel] = {}
        for field, key in (("masked_name", "ui.confirm.name"), ("school_name", "ui.confirm.school"),
                           ("student_number", "ui.confirm.student_number"), ("masked_id", "ui.confirm.id_number")):
            value = QLabel()
            value.setObjectName("heading" if field == "masked_name" else "")
            value.setWordWrap(True)
            self.values[field] = value
            self.form.addRow(self.label(key, "sub"), value)
        self.first.addStretch(1)
        self.first.addWidget(card)
        self.first.addStretch(1)
        self.buttons_row.addWidget(self.button("ui.confirm.no", flow.NotMeTapped()))
        self.buttons_row.addWidget(self.button("ui.confirm.yes", flow.ThatsMeTapped(), primary=True))

    def show_state(self, state: flow.State) -> None:
        """The code's public (masked) fields."""
        super().show_state(state)
        assert isinstance(state, flow.Confirm)
        code = state.student.code
        for name, label in self.values.items():
            label.setText(str(getattr(code, name, "") or "—"))

    def reset(self) -> None:
        """No fields of the previous student stay on screen."""
        super().reset()
        for label in self.values.values():
            label.setText("")


class FeeScreen(Screen):
    """The batch's fee note, shown only when the batch requires a fee."""

    name = "fee"
    heading_key = "ui.fee.heading"

    def build(self) -> None:
        """The note and agree/back."""
        self.note = self.label("ui.fee.default_note")
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.first.addStretch(1)
        self.first.addWidget(self.note)
        self.first.addStretch(1)
        self.buttons_row.addWidget(self.button("ui.app.back", flow.BackTapped()))
        self.buttons_row.addWidget(self.button("ui.fee.agree", flow.FeeAcknowledged(), primary=True))

    def show_state(self, state: flow.State) -> None:
        """The batch's own fee note (its text is the batch's, in one language)."""
        super().show_state(state)
        note = state.ctx.batch.fee_note if state.ctx.batch else ""
        if note:
            self.lang.unbind(self.note)
            self.note.setText(note)
        else:
            self.lang.bind(self.note, self.note.setText, "ui.fee.default_note")
