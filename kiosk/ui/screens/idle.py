"""The screens of nobody at the station: the attract screen, and "still there?" before a timeout."""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QFrame, QGridLayout, QLabel

from kiosk import flow
from kiosk.ui.screens.base import Screen

STEP_KEYS = ("ui.attract.step1", "ui.attract.step2", "ui.attract.step3", "ui.attract.step4")


class AttractScreen(Screen):
    """The steps, large, for someone walking by; a touch anywhere begins."""

    name = "attract"
    heading_key = "ui.attract.heading"

    def build(self) -> None:
        """Numbered steps and the invitation."""
        card = QFrame()
        card.setObjectName("card")
        grid = QGridLayout(card)
        grid.setContentsMargins(32, 28, 32, 28)
        grid.setHorizontalSpacing(28)
        grid.setVerticalSpacing(28)
        self.steps: list[QLabel] = []
        for i, key in enumerate(STEP_KEYS):
            number = QLabel(str(i + 1))
            number.setObjectName("stepNumber")
            number.setAlignment(Qt.AlignmentFlag.AlignCenter)
            text = self.label(key, "heading")
            self.steps.append(text)
            grid.addWidget(number, i, 0)
            grid.addWidget(text, i, 1)
        grid.setColumnStretch(1, 1)
        self.first.addStretch(1)
        self.first.addWidget(card)
        self.first.addStretch(1)
        self.invite = self.label("ui.attract.tap", "heading")
        self.invite.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.second.addStretch(1)
        self.second.addWidget(self.invite)
        self.second.addStretch(1)

    def mousePressEvent(self, event: Any) -> None:
        """A touch anywhere: the Welcome screen."""
        self.send(flow.ContinueTapped())
        super().mousePressEvent(event)


class StillThereScreen(Screen):
    """"Still there?" with the seconds left and a large "continue" before a timeout discards work."""

    name = "still_there"

    def build(self) -> None:
        """Question, countdown, what would be lost; continue (large) and end."""
        self.question = self.label("ui.still_there.heading", "stillThere")
        self.question.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.count = QLabel()
        self.count.setObjectName("countdown")
        self.count.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body = self.label("ui.still_there.body", "sub", n=0)
        self.body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.first.addStretch(1)
        self.first.addWidget(self.question)
        self.first.addWidget(self.count)
        self.first.addWidget(self.body)
        self.first.addStretch(1)
        self.go_on = self.button("ui.still_there.continue", flow.ContinueTapped(), main=True)
        self.second.addStretch(1)
        self.second.addWidget(self.go_on)
        self.second.addStretch(1)
        self.end = self.button("ui.still_there.end", flow.BackTapped())
        self.buttons_row.addWidget(self.end, 1)
        self.buttons_row.addStretch(2)

    def show_state(self, state: flow.State) -> None:
        """The seconds left."""
        super().show_state(state)
        left = state.left if isinstance(state, flow.StillThere) else 0
        self.count.setText(str(left))
        self.lang.bind(self.body, self.body.setText, "ui.still_there.body", n=left)
