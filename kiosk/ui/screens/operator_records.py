"""Operator mode's record screens: codeless capture and binding a code later."""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QFormLayout, QFrame, QLineEdit, QVBoxLayout

from kiosk import flow
from kiosk.ui.screens.base import Screen
from kiosk.ui.screens.keyed import key_event
from kiosk.ui.widgets.keypad import Keypad
from kiosk.ui.widgets.preview import Preview


class CodelessScreen(Screen):
    """Phone number, ID last four and optional name, typed on a physical keyboard."""

    name = "codeless"
    heading_key = "ui.codeless.heading"

    def build(self) -> None:
        """Three fields, start and back."""
        form = QFormLayout()
        form.setVerticalSpacing(18)
        self.fields: dict[str, QLineEdit] = {}
        for field, key, length in (("phone", "ui.codeless.phone", 20), ("id_last4", "ui.codeless.last4", 6),
                                   ("name", "ui.codeless.name", 40)):
            edit = QLineEdit()
            edit.setMaxLength(length)
            edit.setObjectName(field)
            edit.textEdited.connect(lambda text, f=field: self.send(flow.FieldEdited(field=f, value=text)))
            edit.returnPressed.connect(lambda f=field: self._next(f))
            self.fields[field] = edit
            form.addRow(self.label(key), edit)
        self.first.addLayout(form)
        self.first.addStretch(1)
        self.buttons_row.addWidget(self.button("ui.app.back", flow.BackTapped()))
        self.buttons_row.addWidget(self.button("ui.codeless.start", flow.SubmitTapped(), primary=True))

    def _next(self, field: str) -> None:
        """Enter moves to the next field; on the last one it submits."""
        order = list(self.fields)
        at = order.index(field)
        if at + 1 < len(order):
            self.fields[order[at + 1]].setFocus()
        else:
            self.send(flow.SubmitTapped())

    def show_state(self, state: flow.State) -> None:
        """The typed values and the field in error."""
        super().show_state(state)
        assert isinstance(state, flow.CodelessForm)
        for field, edit in self.fields.items():
            value = getattr(state, field)
            if edit.text() != value:
                edit.setText(value)
            edit.setStyleSheet("border-color: #c62828;" if state.invalid_field == field else "")
        if state.invalid_field in self.fields:
            self.fields[state.invalid_field].setFocus()

    def activated(self) -> None:
        """The physical keyboard types into the first field."""
        self.fields["phone"].setFocus()

    def reset(self) -> None:
        """No student's details stay on screen."""
        super().reset()
        for edit in self.fields.values():
            edit.clear()


class BindScreen(Screen):
    """Ticket (scanned or typed), then the collection code, then its last four."""

    name = "bind"
    heading_key = "ui.bind.heading"

    def __init__(self, lang: Any, *, mirror: bool = True) -> None:
        self.mirror = mirror
        super().__init__(lang)

    def build(self) -> None:
        """Preview (for the ticket and the code), ticket field, keypad, result."""
        self.sub.show()
        self.preview = Preview(mirror=self.mirror)
        self.first.addWidget(self.preview, 1)
        self.ticket = QLineEdit()
        self.ticket.setMaxLength(16)
        self.ticket.textEdited.connect(lambda text: self.send(flow.FieldEdited(field="ticket", value=text)))
        self.ticket.returnPressed.connect(lambda: self.send(flow.SubmitTapped()))
        self.find_button = self.button("ui.bind.find", flow.SubmitTapped(), primary=True)
        self.ticket_row = QFrame()
        row = QVBoxLayout(self.ticket_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label("ui.bind.ticket"))
        row.addWidget(self.ticket)
        row.addWidget(self.find_button)
        self.second.addWidget(self.ticket_row)
        self.keypad = Keypad(self.lang, max_len=flow.LAST_FOUR_MAX)
        self.keypad.pressed.connect(lambda key: self.send(key_event(key)))
        self.second.addWidget(self.keypad, 1)
        self.result = self.label()
        self.result.setObjectName("big")
        self.result.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.second.addWidget(self.result)
        self.second.addStretch(1)
        self.keypad.hide()
        self.result.hide()
        self.buttons_row.addWidget(self.button("ui.app.back", flow.BackTapped()))
        self.done = self.button("ui.operator.done", flow.FinishTapped(), primary=True)
        self.buttons_row.addWidget(self.done)

    def show_state(self, state: flow.State) -> None:
        """The stage's widgets, its prompt and the inline error."""
        assert isinstance(state, flow.BindTicket)
        stage = state.stage
        self.preview.setVisible(stage in ("ticket", "code"))
        self.ticket_row.setVisible(stage == "ticket")
        self.keypad.setVisible(stage == "last4")
        self.result.setVisible(stage == "done")
        self.done.setVisible(stage == "done")
        prompts = {"ticket": "ui.bind.ticket_hint", "code": "ui.bind.scan_code", "last4": "ui.verify.heading",
                   "done": "ui.bind.bound"}
        self.lang.bind(self.sub, self.sub.setText, prompts.get(stage, "ui.bind.ticket_hint"))
        if self.ticket.text() != state.ticket_text:
            self.ticket.setText(state.ticket_text)
        self.keypad.set_value(state.typed)
        self.result.setText(state.receipt.short_id if state.receipt else state.record_short_id)
        super().show_state(state)
        if not state.error:
            self.set_info("ui.app.busy" if state.busy else None)

    def activated(self) -> None:
        """The physical keyboard (or a keyboard-wedge scanner) types the ticket."""
        self.ticket.setFocus()

    def reset(self) -> None:
        """Nothing of the previous record stays on screen."""
        super().reset()
        self.preview.clear_frame()
        self.ticket.clear()
        self.keypad.set_value("")
        self.result.setText("")
