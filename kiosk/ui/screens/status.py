"""Status lookup: a student shows their code and sees their review status."""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QFrame, QVBoxLayout

from kiosk import flow
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.preview import Preview

_STATUSES = ("pending", "queued", "approved", "rejected", "confirmed", "awaiting_code")


class StatusScreen(Screen):
    """Preview until a code is shown, then the record's status card."""

    name = "status"
    heading_key = "ui.status.heading"

    def __init__(self, lang: Any, *, mirror: bool = True) -> None:
        self.mirror = mirror
        super().__init__(lang)

    def build(self) -> None:
        """Preview, result card, start-capture and back."""
        self.sub.show()
        self.lang.bind(self.sub, self.sub.setText, "ui.scan.status_heading")
        self.preview = Preview(mirror=self.mirror)
        self.first.addWidget(self.preview, 1)
        self.card = QFrame()
        self.card.setObjectName("card")
        box = QVBoxLayout(self.card)
        box.setContentsMargins(32, 24, 32, 24)
        self.short_id = self.label()
        self.short_id.setObjectName("big")
        self.state_text = self.label()
        self.state_text.setObjectName("heading")
        self.position = self.label()
        self.freshness = self.label("", "sub")
        for widget in (self.short_id, self.state_text, self.position, self.freshness):
            widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
            box.addWidget(widget)
        self.card.hide()
        self.second.addStretch(1)
        self.second.addWidget(self.card)
        self.second.addStretch(1)
        self.start = self.button("ui.welcome.start", flow.StartTapped(), primary=True)
        self.buttons_row.addWidget(self.button("ui.app.back", flow.BackTapped()))
        self.buttons_row.addWidget(self.start)

    def show_state(self, state: flow.State) -> None:
        """The status found, "not found", or progress."""
        super().show_state(state)
        assert isinstance(state, flow.StatusShown)
        view = state.view
        self.card.setVisible(view is not None)
        self.preview.setVisible(view is None)
        # "show your code" only while a code is wanted: once the status is up the prompt would be wrong
        self.sub.setVisible(view is None)
        self.start.setVisible(state.code is not None and not state.busy and state.may_start())
        if state.busy and not state.error:
            self.set_info("ui.app.busy")
        elif state.error and state.error.startswith("flow.status."):
            # "no photo here yet", "already taken": news about the student's record, not a fault
            self.set_info(state.error, **flow.message_params(state))
        elif not state.error:
            self.set_info(None)
        if view is None:
            return
        self.short_id.setText(view.short_id)
        key = f"flow.status.{view.status}" if view.status in _STATUSES else "ui.status.unknown"
        self.lang.bind(self.state_text, self.state_text.setText, key, )
        if view.queue_position is not None and view.status == "queued":
            self.lang.bind(self.position, self.position.setText, "ui.status.position", n=view.queue_position)
            self.position.show()
        elif view.status == "rejected" and view.reason:
            self.lang.unbind(self.position)
            self.position.setText(view.reason)
            self.position.show()
        else:
            self.position.hide()
        if view.status == "pending":
            # not uploaded yet: the server has nothing to say, whether it answered or not
            self.lang.bind(self.freshness, self.freshness.setText, "flow.status.not_uploaded")
            self.freshness.show()
        elif view.refreshed:
            self.freshness.hide()
        else:
            self.lang.bind(self.freshness, self.freshness.setText, "flow.status.offline")
            self.freshness.show()

    def reset(self) -> None:
        """Nothing of the previous student stays on screen."""
        super().reset()
        self.preview.clear_frame()
        self.card.hide()
        for label in (self.short_id, self.state_text, self.position, self.freshness):
            self.lang.unbind(label)
            label.setText("")  # the reviewer's reason for a rejection is about this student
