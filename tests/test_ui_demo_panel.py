"""The windowed demo's remote control drives the demo camera the way a person in front of it would."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QPushButton

from kiosk.camera import CameraLost, DemoCamera
from kiosk.config import CameraSection
from kiosk.text import bilingual
from kiosk.ui.demo_panel import DemoPanel


@dataclass
class Student:
    payload: str
    last_four: str


def _click(panel: DemoPanel, qtbot, label: str) -> None:  # type: ignore[no-untyped-def]
    button = next(b for b in panel.findChildren(QPushButton) if b.text() == label)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_the_remote_holds_up_codes_moves_the_person_and_pulls_the_cable(qtbot) -> None:  # type: ignore[no-untyped-def]
    camera = DemoCamera(CameraSection(width=640, height=360), motion=0.0)
    students = [Student("KC1.first", "123X"), Student("KC1.second", "4567")]
    panel = DemoPanel(camera, students)
    qtbot.addWidget(panel)

    _click(panel, qtbot, bilingual("ui.demo.hold_code", n=2, last_four="4567"))
    assert camera.code == "KC1.second"
    panel.ticket.setText("abcd-efgh-j")
    _click(panel, qtbot, bilingual("ui.demo.hold_ticket"))
    assert camera.code == "abcd-efgh-j"  # as typed: the station decides whether it is a ticket
    _click(panel, qtbot, bilingual("ui.demo.hide_code"))
    assert camera.code is None

    _click(panel, qtbot, bilingual("ui.demo.back"))
    assert camera.pose.scale < 1.0
    _click(panel, qtbot, bilingual("ui.demo.left"))
    assert camera.pose.dx < 0
    _click(panel, qtbot, bilingual("ui.demo.cap"))
    assert camera.pose.subject == "capped"  # the scripted defect: a cap the standard refuses
    _click(panel, qtbot, bilingual("ui.demo.cap"))
    assert camera.pose.subject == "astronaut"
    _click(panel, qtbot, bilingual("ui.demo.cap"))
    _click(panel, qtbot, bilingual("ui.demo.reset"))
    assert camera.pose.scale == 1.0 and camera.pose.dx == 0.0 and camera.pose.subject == "astronaut"

    camera.open()
    _click(panel, qtbot, bilingual("ui.demo.unplug"))
    with pytest.raises(CameraLost):
        camera.read()
    _click(panel, qtbot, bilingual("ui.demo.replug"))
    camera.open()
    assert camera.read().shape == (360, 640, 3)
    camera.close()
