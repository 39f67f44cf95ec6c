"""The screens on the real station (codebook, store, scanner, face analysis, demo camera, server).

Bad input through the whole stack: a foreign QR code, a wrong last four, the
camera unplugged mid-capture, and the server going down before the save.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk import flow
from kiosk.demo import DemoSite
from kiosk.ui.app import PORTRAIT
from kiosk.ui.driver import Driver
from kiosk.ui.session import build_ui
from kiosk.ui.wiring import make_station, open_camera, status_refresher


@pytest.fixture
def station(qtbot, tmp_path: Path):
    site = DemoSite(tmp_path, camera="demo", sync_poll_s=0.2)
    config = site.start()
    source, grabber = open_camera(config)
    grabber.reconnect_max_s = 0.3
    station = make_station(config, site.store, refresh_status=status_refresher(config, site.store),
                           grabber=grabber, camera_name=source.name)
    session = build_ui(config, station, grabber, kiosk_mode=False, state=station.initial_state())
    qtbot.addWidget(session.window)
    session.window.resize(*PORTRAIT)
    session.window.show()
    session.start()
    driver = Driver(session, source, None, echo=lambda _line: None)
    yield site, driver
    session.stop()
    grabber.stop()
    source.close()
    site.close()


@pytest.mark.slow
def test_bad_inputs_on_the_real_station(station) -> None:
    site, d = station
    student = site.students[0]
    window = d.window
    d.tap(window.current.start)
    d.wait_state(flow.ScanCode)
    d.show_code("https://example.com/not-a-collection-code")
    d.wait_for("foreign code refused", lambda: d.state.error is not None, 15.0)
    assert window.current.name == "scan"
    assert window.current.error_key == d.state.error
    assert window.current.banner.isVisible()
    d.show_code(student.payload)
    d.wait_state(flow.Verify)
    d.show_code(None)
    d.keypad("0000" if student.last_four != "0000" else "1111")
    d.wait_state(flow.Verify)
    assert window.current.error_key == "flow.error.last_four_wrong"
    assert "2" in window.current.banner.text()
    d.keypad(student.last_four)
    d.wait_state(flow.Confirm)
    d.send(flow.ThatsMeTapped())
    d.send(flow.AgreeTapped())
    if isinstance(d.state, flow.FeeNotice):
        d.send(flow.FeeAcknowledged())
    d.wait_state(flow.Capture)
    d.camera.unplug()
    d.wait_for("camera lost", lambda: not d.state.ctx.camera_ok, 10.0)
    assert window.current.error_key == "flow.error.camera_lost"
    assert not window.current.shutter.isEnabled()
    d.camera.replug()
    d.wait_for("camera back", lambda: d.state.ctx.camera_ok, 10.0)
    site.server.stop()  # the network goes away before the photo is saved
    d.capture_and_accept("student")
    assert window.current.name == "done"
    assert window.current.short_id.text()
    assert site.store.queue_length() == 1  # durable here, waiting for the server
    d.send(flow.FinishTapped())
    d.wait_state(flow.Welcome)
    d.tap(window.current.status)
    d.wait_state(flow.StatusShown)
    d.show_code(student.payload)
    d.wait_for("status", lambda: getattr(d.state, "view", None) is not None, 15.0)
    assert window.current.card.isVisible()
    assert window.current.freshness.isVisible()  # "from this station's records": the server is down
