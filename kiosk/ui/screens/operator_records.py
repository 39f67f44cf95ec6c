"""Operator mode's record screens: codeless capture and binding a code later."""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QPixmap
from PyQt5.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout

from kiosk import flow
from kiosk.ui.screens.base import Screen
from kiosk.ui.screens.keyed import key_event
from kiosk.ui.widgets.charpad import LETTERS, CharPad
from kiosk.ui.widgets.keypad import SUBMIT, Keypad
from kiosk.ui.widgets.preview import Preview


class CodelessScreen(Screen):
    """Phone number and ID last four on on-screen keypads; no name field (the review goes by the code).

    The record needs no name: the server binds the code later and the code
    carries the name. A physical keyboard still types into the fields.
    """

    keeps_banner_space = True

    name = "codeless"
    heading_key = "ui.codeless.heading"

    def build(self) -> None:
        """Two fields, their keypads, start and back."""
        self.fields: dict[str, QLineEdit] = {}
        # the digits-only layout of the same keypad: both pads have four rows of four keys that line up
        # side by side (its masking does not matter: the pad's own display is hidden, the field shows the number)
        self.phone_pad = Keypad(self.lang, pin=True, max_len=11)
        self.last4_pad = Keypad(self.lang, max_len=flow.LAST_FOUR_MAX)
        for pad in (self.phone_pad, self.last4_pad):
            for button in pad.findChildren(QPushButton):
                # eight keys across must fit a 1080 px portrait screen: less side padding, the same touch target
                button.setProperty("compact", True)
        columns = QHBoxLayout()
        columns.setSpacing(24)
        for field, key, length, pad in (("phone", "ui.codeless.phone", 20, self.phone_pad),
                                        ("id_last4", "ui.codeless.last4", 6, self.last4_pad)):
            edit = QLineEdit()  # shows the entry; a physical keyboard types here too
            edit.setMaxLength(length)
            edit.setObjectName(field)
            edit.textEdited.connect(lambda text, f=field: self.send(flow.FieldEdited(field=f, value=text)))
            edit.returnPressed.connect(lambda f=field: self._next(f))
            self.fields[field] = edit
            pad.display.hide()
            pad.pressed.connect(lambda key, f=field, p=pad: self._pad(f, p, key))
            self.lang.bind(edit, edit.setPlaceholderText, key)  # its name inside: no extra row on a short screen
            column = QVBoxLayout()
            column.addWidget(edit)
            column.addWidget(pad, 1)
            columns.addLayout(column, 1)
        self.first.addLayout(columns, 1)
        self.buttons_row.addWidget(self.button("ui.app.back", flow.BackTapped()))
        self.buttons_row.addWidget(self.button("ui.codeless.start", flow.SubmitTapped(), primary=True))

    def _pad(self, field: str, pad: Any, key: str) -> None:
        """A keypad press becomes the field's new value; OK moves on (or starts, on the last field)."""
        if key == SUBMIT:
            self._next(field)
        else:
            self.send(flow.FieldEdited(field=field, value=pad.value))

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
        self.phone_pad.set_value(state.phone)
        self.last4_pad.set_value(state.id_last4)
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
        self.phone_pad.set_value("")
        self.last4_pad.set_value("")


class BindScreen(Screen):
    """Ticket (scanned, or typed on the letter pad), the code, its last four, then both side by side to confirm."""

    keeps_banner_space = True

    name = "bind"
    heading_key = "ui.bind.heading"

    def __init__(self, lang: Any, *, mirror: bool = True) -> None:
        self.mirror = mirror
        super().__init__(lang)

    def build(self) -> None:
        """Preview, ticket field and letter pad, last-four keypad, the comparison card, result."""
        self.sub.show()
        self.preview = Preview(mirror=self.mirror)
        self.preview.setMinimumSize(160, 80)  # room for the letter pad; it grows where there is more
        self.first.addWidget(self.preview, 1)
        self.ticket = QLineEdit()  # a physical keyboard or a keyboard-wedge scanner types here
        self.ticket.setMaxLength(16)
        self.ticket.textEdited.connect(lambda text: self.send(flow.FieldEdited(field="ticket", value=text)))
        self.ticket.returnPressed.connect(lambda: self.send(flow.SubmitTapped()))
        self.ticket_pad = CharPad(self.lang, LETTERS, columns=9, max_len=11, submit_key="ui.bind.find")
        self.ticket_pad.display.hide()
        self.ticket_pad.pressed.connect(self._ticket_key)
        self.ticket_row = QFrame()
        row = QVBoxLayout(self.ticket_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.ticket)
        row.addWidget(self.ticket_pad)
        self.second.addWidget(self.ticket_row)
        self.keypad = Keypad(self.lang, max_len=flow.LAST_FOUR_MAX)
        self.keypad.pressed.connect(lambda key: self.send(key_event(key)))
        self.second.addWidget(self.keypad, 1)
        self.compare = self._comparison()
        self.first.addWidget(self.compare)
        self.result = self.label()
        self.result.setObjectName("big")
        self.result.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.second.addWidget(self.result)
        self.second.addStretch(1)
        for widget in (self.keypad, self.result, self.compare):
            widget.hide()
        self.buttons_row.addWidget(self.button("ui.app.back", flow.BackTapped()))
        self.confirm = self.button("staff.bind.confirm", flow.SubmitTapped(), primary=True)
        self.override = self.button("staff.bind.override", flow.StaffOverrideTapped(), primary=True)
        # "back" already leads to the menu: after a binding the other choice is the next one
        self.done = self.button("staff.bind.next", flow.SubmitTapped(), primary=True)
        for button in (self.confirm, self.override, self.done):
            button.hide()  # each belongs to one stage; shown by show_state
            self.buttons_row.addWidget(button)

    def _comparison(self) -> QFrame:
        """The record's photo and masked name beside the code's masked name and school."""
        card = QFrame()
        card.setObjectName("card")
        # one row per thing compared, so the record's and the code's stand level, side by side
        grid = QGridLayout(card)
        grid.setHorizontalSpacing(32)
        grid.addWidget(self.label("staff.bind.record", "sub"), 0, 0)
        grid.addWidget(self.label("staff.bind.code", "sub"), 0, 1)
        self.record_name = QLabel()
        self.record_name.setObjectName("heading")
        self.code_name = QLabel()
        self.code_name.setObjectName("heading")
        grid.addWidget(self.record_name, 1, 0)
        grid.addWidget(self.code_name, 1, 1)
        self.record_line = QLabel()
        self.record_line.setWordWrap(True)
        self.code_line = QLabel()
        self.code_line.setWordWrap(True)
        grid.addWidget(self.record_line, 2, 0)
        grid.addWidget(self.code_line, 2, 1)
        self.thumb = QLabel()
        self.thumb.setFixedSize(240, 320)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(self.thumb, 3, 0, Qt.AlignmentFlag.AlignLeft)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(4, 1)
        return card

    def _ticket_key(self, key: str) -> None:
        if key == SUBMIT:
            self.send(flow.SubmitTapped())
        else:
            self.send(flow.FieldEdited(field="ticket", value=self.ticket_pad.value))

    def show_state(self, state: flow.State) -> None:
        """The stage's widgets, its prompt and the inline error."""
        assert isinstance(state, flow.BindTicket)
        stage = state.stage
        comparing = stage in ("confirm", "override")
        self.preview.setVisible(stage in ("ticket", "code"))
        self.ticket_row.setVisible(stage == "ticket")
        self.keypad.setVisible(stage == "last4")
        self.compare.setVisible(comparing)
        self.result.setVisible(stage == "done")
        self.done.setVisible(stage == "done")
        self.confirm.setVisible(stage == "confirm")
        self.override.setVisible(stage == "override")
        for button in (self.confirm, self.override):
            button.setEnabled(not state.busy)
        prompts = {"ticket": "staff.bind.ticket_keys", "code": "ui.bind.scan_code", "last4": "ui.verify.heading",
                   "confirm": "staff.bind.compare_hint", "override": "staff.bind.compare_hint",
                   "done": "staff.bind.bound_receipt"}
        self.lang.bind(self.sub, self.sub.setText, prompts.get(stage, "ui.bind.ticket_hint"))
        if self.ticket.text() != state.ticket_text:
            self.ticket.setText(state.ticket_text)
        self.ticket_pad.set_value(state.ticket_text)
        self.keypad.set_value(state.typed)
        self.result.setText(state.receipt.short_id if state.receipt else state.record_short_id)
        if comparing:
            self._show_comparison(state)
        super().show_state(state)
        if not state.error:
            self.set_info("ui.app.busy" if state.busy else None)

    def _show_comparison(self, state: flow.BindTicket) -> None:
        record, code = state.record, state.code
        pixmap = QPixmap(record.photo_path) if record is not None and record.photo_path else QPixmap()
        if pixmap.isNull():
            self.thumb.setPixmap(QPixmap())
            self.lang.bind(self.thumb, self.thumb.setText, "staff.bind.no_photo")
        else:
            self.lang.unbind(self.thumb)
            self.thumb.setPixmap(pixmap.scaled(self.thumb.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))
        if record is not None and record.masked_name:
            self.lang.unbind(self.record_name)
            self.record_name.setText(record.masked_name)
        else:
            self.lang.bind(self.record_name, self.record_name.setText, "staff.bind.no_name")
        self.record_line.setText(f"{record.ticket_display}  {record.captured_at}" if record else "")
        self.code_name.setText(str(getattr(code, "masked_name", "") or "—"))
        self.code_line.setText(" ".join(str(getattr(code, f, "") or "") for f in ("school_name", "student_number")))

    def activated(self) -> None:
        """The physical keyboard (or a keyboard-wedge scanner) types the ticket."""
        self.ticket.setFocus()

    def reset(self) -> None:
        """Nothing of the previous record stays on screen."""
        super().reset()
        self.preview.clear_frame()
        self.ticket.clear()
        self.ticket_pad.set_value("")
        self.keypad.set_value("")
        self.result.setText("")
        self.thumb.setPixmap(QPixmap())
        for label in (self.record_name, self.record_line, self.code_name, self.code_line):
            self.lang.unbind(label)
            label.setText("")
