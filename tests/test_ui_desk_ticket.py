"""The ticket desk tells staff when the server replaced a record's ticket (another station made the same)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PyQt5.QtCore import Qt

from kiosk import flow
from tests import test_ui_fakes
from tests.test_ui_fakes import FakeStation
from tests.test_ui_screens import Harness

SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screens" / "staff"


@pytest.fixture
def ui(qtbot, monkeypatch: pytest.MonkeyPatch):
    replaced = dataclasses.replace(test_ui_fakes.RECORD_CARD, ticket="7KQ2M9XD4", ticket_display="7KQ2-M9XD-4",
                                   ticket_replaced=True)
    monkeypatch.setattr(test_ui_fakes, "RECORD_CARD", replaced)
    harness = Harness(qtbot, FakeStation())
    yield harness
    harness.session.stop()


def test_a_replaced_ticket_is_shown_as_the_new_one_with_a_note_for_staff(ui: Harness) -> None:
    w = ui.window
    ui.tap(w.staff_button)
    ui.type_keys("0000")
    ui.tap(w.current.items[flow.MENU_TICKETS])
    desk = w.current
    ui.now += 1.0  # past the tap guard of a screen just shown
    for key in "13800138000":
        ui.qtbot.mouseClick(desk.phone_pad.keys[key], Qt.LeftButton)
    ui.tap(desk.phone_pad.ok_button)
    assert desk.card.isVisible() and desk.ticket_text.text() == "7KQ2-M9XD-4"
    assert "认领码已由服务器更换" in desk.detail.text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    ui.qtbot.wait(30)
    assert w.screenshot(str(SHOTS / "12_desk_ticket_replaced.png"))
