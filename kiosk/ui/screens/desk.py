"""The ticket desk (operator mode): find a codeless record by phone or ticket, list the waiting, show a ticket."""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk import flow
from kiosk.tickets import bind_link
from kiosk.ui.screens.base import Screen
from kiosk.ui.screens.keyed import key_event
from kiosk.ui.widgets.charpad import DIGITS, LETTERS, CharPad
from kiosk.ui.widgets.preview import Preview
from kiosk.ui.widgets.qr import QrCode

#: records listed at most (the list is for finding one; staff narrow it by phone)
LIST_MAX = 8


class TicketDeskScreen(Screen):
    """Phone or ticket keypad (or the ticket's QR to the camera), the records found, a ticket shown again."""

    keeps_banner_space = True

    name = "desk"
    heading_key = "staff.desk.heading"

    def __init__(self, lang: Any, *, mirror: bool = True) -> None:
        self.mirror = mirror
        super().__init__(lang)

    def build(self) -> None:
        """Mode buttons, keypads, preview, result list and the ticket card."""
        self.sub.show()
        modes = QHBoxLayout()
        self.by_phone = self.button("staff.desk.by_phone", flow.MenuChosen("phone"))
        self.by_ticket = self.button("staff.desk.by_ticket", flow.MenuChosen("ticket"))
        self.waiting = self.button("staff.desk.waiting", flow.MenuChosen("waiting"))
        for button in (self.by_phone, self.by_ticket, self.waiting):
            modes.addWidget(button)
        self.first.addLayout(modes)
        self.phone_pad = CharPad(self.lang, DIGITS, columns=5, max_len=11, submit_key="staff.desk.find")
        self.ticket_pad = CharPad(self.lang, LETTERS, columns=9, max_len=11, submit_key="staff.desk.find")
        for pad in (self.phone_pad, self.ticket_pad):
            pad.pressed.connect(lambda key: self.send(key_event(key)))
            self.first.addWidget(pad, 1)
        self.ticket_pad.hide()
        self.results = QVBoxLayout()
        self.result_buttons: list[QPushButton] = []
        self.first.addLayout(self.results)
        # in the keypad's place while a list is up: the list stays under the mode buttons, not mid-screen
        self.filler = QWidget()
        self.filler.hide()
        self.first.addWidget(self.filler, 1)
        self.preview = Preview(mirror=self.mirror)  # the ticket's QR, held up by the student
        self.preview.setMinimumSize(200, 120)
        self.second.addWidget(self.preview, 1)
        self.card = QFrame()
        self.card.setObjectName("card")
        col = QVBoxLayout(self.card)
        self.ticket_text = QLabel()
        self.ticket_text.setObjectName("big")
        self.ticket_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.ticket_qr = QrCode(size=280)
        self.ticket_qr.set_hint(360)
        self.detail = QLabel()
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        col.addWidget(self.ticket_text)
        col.addWidget(self.ticket_qr, 0, Qt.AlignmentFlag.AlignHCenter)
        col.addWidget(self.detail)
        again = self.label("staff.desk.show_again", "sub")
        again.setAlignment(Qt.AlignmentFlag.AlignCenter)
        col.addWidget(again)
        col.addStretch(1)  # the ticket, its code and the words together at the top of the card
        self.second.addWidget(self.card)
        self.card.hide()
        self.buttons_row.addWidget(self.button("staff.menu.to_menu", flow.BackTapped()))

    def show_state(self, state: flow.State) -> None:
        """The keypad of the mode, the records found, or the ticket shown again."""
        super().show_state(state)
        assert isinstance(state, flow.TicketDesk)
        shown = state.shown
        # the waiting list takes the keypad's place: a list under a keypad full of a number looks like its result
        typing = shown is None and not state.listed
        self.phone_pad.setVisible(typing and state.mode == "phone")
        self.ticket_pad.setVisible(typing and state.mode == "ticket")
        self.filler.setVisible(shown is None and state.listed)
        pad = self.phone_pad if state.mode == "phone" else self.ticket_pad
        pad.set_value(state.typed)
        pad.setEnabled(not state.busy)
        hint = ("staff.desk.hint_listed" if state.listed else
                "staff.desk.hint_phone" if state.mode == "phone" else "staff.desk.hint_ticket")
        self.lang.bind(self.sub, self.sub.setText, hint)
        self.preview.setVisible(typing and state.mode == "ticket")
        self.card.setVisible(shown is not None)
        self._list(state.records if shown is None else ())
        if shown is not None:
            self.ticket_text.setText(shown.ticket_display)
            self.ticket_qr.set_text(bind_link(state.ctx.public_url, shown.ticket) if shown.ticket else "")
            bound = f"　{self.lang.t('staff.desk.bound')}" if shown.has_code else ""
            replaced = f"\n{self.lang.t('staff.desk.replaced')}" if shown.ticket_replaced else ""
            self.detail.setText(self.lang.t("staff.desk.row", ticket=shown.short_id, tail=shown.phone_tail,
                                            at=shown.captured_at) + bound + replaced)
        if state.busy and not state.error:
            self.set_info("ui.app.busy")
        elif not state.error:
            self.set_info(None)

    def _list(self, records: tuple[flow.RecordCard, ...]) -> None:
        for button in self.result_buttons:
            button.deleteLater()
        self.result_buttons = []
        for i, card in enumerate(records[:LIST_MAX]):
            text = self.lang.t("staff.desk.row", ticket=card.ticket_display, tail=card.phone_tail, at=card.captured_at)
            button = QPushButton(text)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, n=i: self.send(flow.RecordChosen(n)))
            self.results.addWidget(button)
            self.result_buttons.append(button)

    def activated(self) -> None:
        """A physical keyboard or a keyboard-wedge scanner types into the pad shown."""
        (self.phone_pad if self.phone_pad.isVisible() else self.ticket_pad).setFocus()

    def reset(self) -> None:
        """Nothing of a record stays on screen."""
        super().reset()
        self.preview.clear_frame()
        self._list(())
        self.card.hide()
        self.ticket_qr.set_text("")
        self.ticket_text.setText("")
        self.detail.setText("")
        for pad in (self.phone_pad, self.ticket_pad):
            pad.set_value("")
