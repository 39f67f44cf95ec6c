"""The session between the screens and the controller: results that arrive late, after the person left."""

from __future__ import annotations

import threading

import pytest

from kiosk import flow
from tests.test_ui_fakes import GOOD, FakeStation
from tests.test_ui_screens import Harness


class SlowStatusStation(FakeStation):
    """The first status lookup hangs (a stalled server) until the test lets it answer."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.lookups = 0

    def execute(self, effect: flow.Effect) -> list[flow.Event]:
        """Each lookup answers with its own short id; the first waits for ``release``."""
        if isinstance(effect, flow.LookupStatus):
            self.lookups += 1
            n = self.lookups
            if n == 1:
                self.release.wait(10.0)
            return [flow.StatusFound(view=flow.StatusView(short_id=f"STUDENT{n}", status="rejected",
                                                          reason=f"reason of student {n}", refreshed=True))]
        return super().execute(effect)


@pytest.fixture
def slow(qtbot):
    station = SlowStatusStation()
    harness = Harness(qtbot, station)
    yield harness
    station.release.set()
    harness.session.stop()


def test_a_late_status_is_not_shown_to_the_next_student(slow: Harness) -> None:
    w = slow.window
    slow.tap(w.screens["welcome"].status)
    slow.station.scan_next = GOOD  # the first student's code; their lookup hangs
    slow.qtbot.waitUntil(lambda: slow.station.lookups == 1, timeout=5000)
    slow.session.dispatch(flow.BackTapped())  # they give up and leave
    assert slow.screen() == "welcome"
    w.screens["welcome"].status.click()  # the next student
    slow.station.scan_next = GOOD
    slow.qtbot.waitUntil(lambda: slow.station.scan_next is None and slow.state.busy, timeout=5000)
    slow.station.release.set()
    slow.qtbot.waitUntil(lambda: slow.station.lookups == 2 and not slow.session.tasks.busy, timeout=5000)
    slow.settle()
    state = slow.state
    assert isinstance(state, flow.StatusShown) and state.view is not None
    assert state.view.short_id == "STUDENT2"
    assert "student 1" not in w.current.position.text()


@pytest.fixture
def ui(qtbot):
    harness = Harness(qtbot, FakeStation())
    yield harness
    harness.session.stop()


def test_the_staff_button_shows_only_where_it_opens_operator_mode(ui: Harness) -> None:
    w = ui.window
    assert w.staff_button.isVisible()
    ui.tap(w.screens["welcome"].start)
    ui.scan(GOOD)
    assert ui.screen() == "verify"
    assert not w.staff_button.isVisible()  # a button that would do nothing mid-session
    ui.send(flow.BackTapped())
    ui.send(flow.BackTapped())
    assert ui.screen() == "welcome" and w.staff_button.isVisible()
    ui.tap(w.staff_button)
    assert ui.screen() == "pin"
