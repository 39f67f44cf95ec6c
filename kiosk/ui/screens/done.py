"""Done: what the student takes away, and the promises behind it.

A QR of the student's own status page (by its capability), where and until
when to check and confirm, and, for a student with a code, an optional phone
number for the review result (explicit consent). A codeless student's claim
ticket is the largest thing on screen, its QR opens the phone bind page with
the ticket filled in, and it stays until staff confirm the student has it.
"""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QBoxLayout, QFrame, QLabel, QSizePolicy, QVBoxLayout

from kiosk import flow
from kiosk.ui.screens.base import Screen
from kiosk.ui.screens.keyed import key_event
from kiosk.ui.widgets.charpad import DIGITS, CharPad
from kiosk.ui.widgets.qr import QrCode


class DoneScreen(Screen):
    """Receipt, status-page QR and deadline, the notice offer, or the claim ticket until staff confirm."""

    name = "done"
    heading_key = "ui.done.heading"

    def build(self) -> None:
        """Receipt card, notice offer, QR codes, finish and the staff confirmation."""
        card = QFrame()
        card.setObjectName("card")
        box = QVBoxLayout(card)
        box.setContentsMargins(32, 20, 32, 20)
        box.addWidget(self.label("ui.done.receipt", "sub"))
        self.short_id = QLabel()
        self.short_id.setObjectName("big")
        box.addWidget(self.short_id)
        self.queue = self.label("ui.done.queue_unknown")
        box.addWidget(self.queue)
        self.until = self.label()
        self.until.setObjectName("heading")
        box.addWidget(self.until)
        self.contact_button = self.button("staff.done.contact", flow.ContactTapped())
        box.addSpacing(12)
        box.addWidget(self.contact_button)
        self.contact_saved = self.label("staff.done.contact_saved", "info")
        box.addWidget(self.contact_saved)
        self.contact_box = QFrame()
        contact = QVBoxLayout(self.contact_box)
        contact.setContentsMargins(0, 0, 0, 0)
        contact.addWidget(self.label("staff.done.contact_consent", "sub"))
        self.phone_pad = CharPad(self.lang, DIGITS, columns=5, max_len=11, submit_key="staff.done.contact_save")
        self.phone_pad.pressed.connect(lambda key: self.send(key_event(key)))
        contact.addWidget(self.phone_pad)
        contact.addWidget(self.button("staff.done.contact_cancel", flow.BackTapped()))
        self.contact_box.hide()
        self.contact_saved.hide()
        self.first.addWidget(card)
        self.first.addStretch(1)

        self.codes_row = codes = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.ticket_qr = QrCode(size=150)
        self.ticket_text = QLabel()
        self.ticket_text.setObjectName("heading")  # large, yet narrow enough for its column on a portrait screen
        self.ticket_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.ticket_box = self._qr_box(self.ticket_qr, "staff.done.ticket_keep", self.ticket_text,
                                       "staff.done.ticket_heading")
        self.status_qr = QrCode(size=150)
        # titled like the ticket, so that the two codes line up side by side
        self.status_box = self._qr_box(self.status_qr, "staff.done.status_qr", title_key="staff.done.status_heading")
        codes.addWidget(self.ticket_box)
        codes.addWidget(self.status_box)
        self.codes = QFrame()
        self.codes.setLayout(codes)
        self.second.addWidget(self.contact_box)
        self.second.addWidget(self.codes)
        self.no_link = self.label("staff.done.no_link", "sub")
        self.second.addWidget(self.no_link)
        # the codes sit right under the receipt (portrait) or beside it (landscape); the room left is below
        self.second.addStretch(1)

        self.handed = self.button("staff.done.ticket_handed", flow.TicketHandedTapped())
        self.finish = self.button("ui.done.finish", flow.FinishTapped(), primary=True)
        self.handed.hide()
        self.buttons_row.addWidget(self.handed)
        self.buttons_row.addWidget(self.finish)

    def set_portrait(self, portrait: bool) -> None:
        """Portrait: the receipt across the width, the QR codes centred right under it.

        Landscape: the receipt on the left, the codes beside it. Either way each
        QR's caption sits directly under its code, and the free room is below.
        """
        super().set_portrait(portrait)
        self.split.setStretch(0, 0 if portrait else 3)
        self.split.setStretch(1, 1 if portrait else 2)
        self.codes_row.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)  # type: ignore[call-overload]
        for qr in (self.status_qr, self.ticket_qr):
            qr.set_hint(340 if portrait else 300)

    def _qr_box(self, qr: QrCode, caption_key: str, extra: QLabel | None = None, title_key: str = "") -> QFrame:
        # at least 150 px (a phone reads that from an arm away), larger where the screen has room
        qr.setMinimumSize(150, 150)
        qr.setMaximumSize(360, 360)
        qr.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        frame = QFrame()
        col = QVBoxLayout(frame)
        if title_key:
            title = self.label(title_key, "heading")
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            col.addWidget(title)
        col.addWidget(qr, 0, Qt.AlignmentFlag.AlignHCenter)
        if extra is not None:
            col.addWidget(extra)
        caption = self.label(caption_key, "sub")
        caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        col.addWidget(caption)
        col.addStretch(1)  # the caption stays under its code, not at the foot of the column
        return frame

    def show_state(self, state: flow.State) -> None:
        """The receipt of the saved record, the notice offer and the ticket's hold."""
        super().show_state(state)
        assert isinstance(state, flow.Done)
        receipt = state.receipt
        self.show_receipt(receipt)
        self.contact_box.setVisible(state.contact_open)
        self.codes.setVisible(not state.contact_open)  # the keypad takes their place for a moment
        self.phone_pad.set_value(state.phone)
        self.phone_pad.setEnabled(not state.busy)
        self.contact_button.setVisible(receipt.has_code and not state.contact_open and not state.contact_saved)
        self.contact_saved.setVisible(state.contact_saved)
        self.handed.setVisible(receipt.ticket is not None and not state.ticket_confirmed)
        self.finish.setEnabled(state.may_finish)
        if state.error:
            return
        if not state.may_finish:
            self.set_warning("staff.done.ticket_replaced" if state.ticket_replaced else "staff.done.ticket_wait")
        elif receipt.print_note:
            self.set_warning(receipt.print_note)
        else:
            self.set_info(None)

    def set_warning(self, key: str) -> None:
        """A notice that needs attention but is not an error (amber)."""
        self._set_banner("warning", key, {})

    def show_receipt(self, receipt: flow.Receipt) -> None:
        """What the student takes away."""
        self.short_id.setText(receipt.short_id)
        if receipt.queue_position is None:
            self.lang.bind(self.queue, self.queue.setText, "ui.done.queue_unknown")
        else:
            self.lang.bind(self.queue, self.queue.setText, "ui.done.queue", n=receipt.queue_position)
        is_page = receipt.status_link.startswith(("https://", "http://"))
        self.status_qr.set_text(receipt.status_link if is_page else "")
        self.status_box.setVisible(is_page)
        self.no_link.setVisible(not is_page and bool(receipt.short_id))
        if receipt.check_until and is_page:
            self.lang.bind(self.until, self.until.setText, "staff.done.until", date=receipt.check_until)
            self.until.show()
        else:
            self.until.hide()
        ticket = receipt.ticket or ""
        self.ticket_qr.set_text(receipt.ticket_link or receipt.ticket_display or ticket)
        self.ticket_text.setText(receipt.ticket_display or ticket)
        self.ticket_box.setVisible(bool(ticket))

    def reset(self) -> None:
        """No receipt of the previous student stays on screen."""
        super().reset()
        self.show_receipt(flow.Receipt(record_id="", short_id=""))
        self.phone_pad.set_value("")
