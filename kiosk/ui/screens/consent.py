"""The notice before the camera starts: what is collected, why, how long, who sees it; the dress rules."""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import QEvent, Qt
from PyQt5.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout

from kiosk import flow
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.sample_figure import SampleFigure

#: the notice's points, in reading order (a face photo is sensitive personal information: PIPL art. 28-29)
NOTICE_KEYS = ("ui.consent.what", "ui.consent.why", "ui.consent.keep", "ui.consent.who", "ui.consent.choice")
#: the dress rules, in the order the sample figure shows them
DRESS_KEYS = ("ui.consent.dress_head", "ui.consent.dress_glasses", "ui.consent.dress_hair", "ui.consent.dress_neck")


class ConsentScreen(Screen):
    """The notice with an explicit "agree", and the dress rules beside a sample figure."""

    name = "consent"
    heading_key = "ui.consent.heading"

    def build(self) -> None:
        """Notice card, dress card with the figure, decline and agree."""
        notice = QFrame()
        notice.setObjectName("card")
        box = QVBoxLayout(notice)
        box.setContentsMargins(28, 20, 28, 20)
        box.setSpacing(10)
        box.addWidget(self.label("ui.consent.notice_title", "heading"))
        self.notice_lines = [self.label(key) for key in NOTICE_KEYS]
        for line in self.notice_lines:
            box.addWidget(line)
        self.first.addWidget(notice)
        self.first.addStretch(1)

        dress = QFrame()
        dress.setObjectName("card")
        row = QHBoxLayout(dress)
        row.setContentsMargins(28, 20, 28, 20)
        rules = QVBoxLayout()
        rules.addWidget(self.label("ui.consent.dress_title", "heading"))
        self.rule_lines: list[QLabel] = []
        for key in DRESS_KEYS:
            line = self.label(key)
            self.rule_lines.append(line)
            rules.addWidget(line)
        rules.addStretch(1)
        row.addLayout(rules, 3)
        figure_box = QVBoxLayout()
        self.figure = SampleFigure()
        figure_box.addWidget(self.figure, 1)
        caption = self.label("ui.consent.sample", "sub")
        caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        figure_box.addWidget(caption)
        row.addLayout(figure_box, 2)
        self.second.addWidget(dress)
        self.second.addStretch(1)

        self.decline = self.button("ui.consent.decline", flow.BackTapped())
        self.agree = self.button("ui.consent.agree", flow.AgreeTapped(), primary=True)
        self.buttons_row.addWidget(self.decline, 1)
        self.buttons_row.addWidget(self.agree, 2)
        for label in (*self.notice_lines, *self.rule_lines):
            label.installEventFilter(self)

    def eventFilter(self, watched: Any, event: Any) -> bool:
        """A wrapped line keeps the height its width needs: a squeezed notice would hide words."""
        if isinstance(watched, QLabel) and event.type() == QEvent.Type.Resize:
            needed = watched.heightForWidth(watched.width())
            if needed > 0 and needed != watched.minimumHeight():
                watched.setMinimumHeight(needed)
        return super().eventFilter(watched, event)
