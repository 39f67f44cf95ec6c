"""The demo's remote control: what a real student would do in front of a real camera.

In the windowed demo nobody stands in front of the (simulated) camera, so this
small window beside the station stands in for them: hold up one of the demo
codes or a claim ticket, move about, pull the camera's cable. It only drives
the ``DemoCamera``; the station itself sees nothing but frames, as in the field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PyQt5.QtWidgets import QGridLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from kiosk.scene import Pose
from kiosk.text import bilingual


class DemoPanel(QWidget):
    """Buttons that move the demo person and make them hold up a code."""

    def __init__(self, camera: Any, students: Sequence[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.camera = camera
        self.setWindowTitle(bilingual("ui.demo.title"))
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(bilingual("ui.demo.codes")))
        for i, student in enumerate(students, start=1):
            label = bilingual("ui.demo.hold_code", n=i, last_four=student.last_four)
            layout.addWidget(self._button(label, self._holder(student.payload)))
        self.ticket = QLineEdit()
        self.ticket.setPlaceholderText(bilingual("ui.demo.ticket_placeholder"))
        layout.addWidget(self.ticket)
        layout.addWidget(self._button(bilingual("ui.demo.hold_ticket"), self._hold_ticket))
        layout.addWidget(self._button(bilingual("ui.demo.hide_code"), lambda: camera.show_code(None)))
        layout.addWidget(QLabel(bilingual("ui.demo.person")))
        grid = QGridLayout()
        moves: list[tuple[str, Callable[[Pose], dict[str, Any]]]] = [
            ("ui.demo.closer", lambda p: {"scale": p.scale * 1.15}),
            ("ui.demo.back", lambda p: {"scale": p.scale / 1.15}),
            ("ui.demo.left", lambda p: {"dx": p.dx - 0.05}),
            ("ui.demo.right", lambda p: {"dx": p.dx + 0.05}),
            ("ui.demo.tilt", lambda p: {"roll": p.roll + 6.0}),
            ("ui.demo.darker", lambda p: {"brightness": p.brightness * 0.6}),
            ("ui.demo.away", lambda p: {"present": not p.present}),
            # the capped portrait: a photo the standard refuses (not bareheaded)
            ("ui.demo.cap", lambda p: {"subject": "astronaut" if p.subject == "capped" else "capped"}),
            ("ui.demo.reset", lambda p: dict(vars(Pose()))),
        ]
        for i, (key, change) in enumerate(moves):
            grid.addWidget(self._button(bilingual(key), self._mover(change)), i // 2, i % 2)
        layout.addLayout(grid)
        layout.addWidget(QLabel(bilingual("ui.demo.camera")))
        layout.addWidget(self._button(bilingual("ui.demo.unplug"), camera.unplug))
        layout.addWidget(self._button(bilingual("ui.demo.replug"), camera.replug))
        layout.addStretch(1)

    def _button(self, label: str, action: Callable[[], object]) -> QPushButton:
        button = QPushButton(label)
        button.setMinimumHeight(44)

        def clicked(_checked: bool = False) -> None:
            action()

        button.clicked.connect(clicked)
        return button

    def _holder(self, payload: str) -> Callable[[], None]:
        return lambda: self.camera.show_code(payload)

    def _mover(self, change: Callable[[Pose], dict[str, Any]]) -> Callable[[], None]:
        return lambda: self.camera.set_pose(**change(self.camera.pose))

    def _hold_ticket(self) -> None:
        # shown exactly as typed: a typo reaches the station, which must refuse it
        typed = self.ticket.text().strip()
        if typed:
            self.camera.show_code(typed)
