"""``kiosk demo``: the whole station loop on this machine (embedded server, demo camera).

With a display it opens the station's window (windowed). Without one, or with
``--headless``, it drives the whole flow as a student and a member of staff
would, prints each step, saves a screenshot of every screen and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from kiosk.config import LoggingSection
from kiosk.log import setup_logging

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``kiosk demo``."""
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--headless", action="store_true", help="drive the flow offscreen (default without a display)")
    mode.add_argument("--windowed", action="store_true", help="open the station's window")
    p.add_argument("--out", type=Path, default=Path("demo-output"), help="screenshots go here (headless)")
    p.add_argument("--verbose", action="store_true", help="show the station's log lines")
    p.add_argument("--window-size", default="", metavar="WxH",
                   help="windowed: the station window's size, e.g. 1080x1920 (the portrait touch screen)")
    p.add_argument("--second-station", action="store_true",
                   help="windowed: a second station's window on the same server (status asked of the server)")
    p.add_argument("--widget-map", type=Path, default=None, metavar="FILE",
                   help="windowed: keep FILE up to date with every visible control's text and screen position, "
                        "for driving the windows from a script (scripts/xvfb_tour.py)")


def run(args: argparse.Namespace) -> int:
    """Run the demo."""
    from kiosk.ui.app import has_display

    headless = args.headless or (not args.windowed and not has_display())
    setup_logging(LoggingSection(level="INFO" if args.verbose else "WARNING"))
    started = time.monotonic()
    from kiosk.ui.app import ensure_application, quit_on_signals, survive_handler_errors

    app = ensure_application(headless=headless)
    survive_handler_errors()
    from kiosk.demo import DemoSite
    from kiosk.ui.session import build_ui
    from kiosk.ui.wiring import make_station, open_camera, status_refresher, student_lookup

    site = DemoSite(camera="demo" if headless else "auto")
    config = site.start()
    source, grabber = open_camera(config)
    station = make_station(config, site.store, refresh_status=status_refresher(config, site.store),
                           grabber=grabber, camera_name=getattr(source, "name", ""),
                           lookup_remote=student_lookup(config, site.store))
    session = build_ui(config, station, grabber, kiosk_mode=False, state=station.initial_state())
    second = None
    try:
        if headless:
            return _drive(session, source, site, args.out, started)
        print(f"kiosk demo: server {site.server.base_url}, data in {site.root}")
        print(f"demo codes (last four): {', '.join(s.last_four for s in site.students)}; operator PIN 0000")
        session.window.left_kiosk.connect(app.quit)
        session.window.present()
        if args.window_size:
            width, _, height = args.window_size.partition("x")
            session.window.resize(int(width), int(height))
            session.window.move(0, 0)
        _open_pages(site)
        panel = _remote(source, site, session.window)
        session.start()
        if args.second_station:
            second = _SecondStation(site, config, session.window, panel or session.window)
        watcher = _widget_map(args.widget_map, session, second, panel)  # noqa: F841 - lives as long as the loop
        wake = quit_on_signals(app)  # noqa: F841 - the timer must live as long as the loop
        return int(app.exec_())
    finally:
        session.stop()
        if second is not None:
            second.stop()
        grabber.stop()
        source.close()
        site.close()


def _remote(source, site, window):  # type: ignore[no-untyped-def]
    """The demo remote beside the window, when the camera is the demo camera."""
    from kiosk.camera import DemoCamera

    if not isinstance(source, DemoCamera):
        return None
    from kiosk.ui.demo_panel import DemoPanel

    panel = DemoPanel(source, site.students)
    panel.show()
    geometry = window.frameGeometry()
    panel.move(geometry.right() + 10, geometry.top())
    print("demo remote: hold up a code, move the person or unplug the camera from the small window")
    return panel


class _SecondStation:
    """A second station on the same server: its own window, store, camera and demo remote."""

    def __init__(self, site, config, first, beside) -> None:  # type: ignore[no-untyped-def]
        from kiosk.ui.session import build_ui
        from kiosk.ui.wiring import open_camera

        station = site.second_station()
        self.source, self.grabber = open_camera(config)
        self.session = build_ui(config, station, self.grabber, kiosk_mode=False, state=station.initial_state())
        self.window = self.session.window
        self.window.setWindowTitle("demo-02")
        self.window.present()
        self.window.resize(first.width(), first.height())
        self.window.move(beside.frameGeometry().right() + 10, 0)
        self.panel = _remote(self.source, site, self.window)
        self.session.start()
        print("second station: demo-02, its own records and camera, the same server")

    def stop(self) -> None:
        """Stop its session and camera."""
        self.session.stop()
        self.grabber.stop()
        self.source.close()


def _widget_map(path, session, second, panel):  # type: ignore[no-untyped-def]
    """Keep ``path`` up to date with the windows' controls (None: nothing written)."""
    if path is None:
        return None
    from kiosk.ui.widget_map import WidgetMap

    watcher = WidgetMap(path)
    watcher.watch("station", session.window, session)
    if second is not None:
        watcher.watch("second", second.window, second.session)
        if second.panel is not None:
            watcher.watch("remote2", second.panel)
    if panel is not None:
        watcher.watch("remote", panel)
    return watcher


def _drive(session, source, site, out: Path, started: float) -> int:  # type: ignore[no-untyped-def]
    from kiosk.errors import KioskError
    from kiosk.ui.app import PORTRAIT
    from kiosk.ui.driver import Driver

    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    window = session.window
    window.resize(*PORTRAIT)
    window.show()
    session.start()
    print(f"kiosk demo (headless): server {site.server.base_url}, demo camera, screenshots in {out}/")
    driver = Driver(session, source, out)
    first, second, third = site.students
    try:
        record_id = driver.student(first)
        from kiosk import flow

        driver.send(flow.FinishTapped())
        ticket = driver.codeless("13800138000", second.last_four)
        driver.bind(ticket, second)
        driver.operator_screens()
        driver.staff_call()
        driver.say("waiting for the sync loop to upload every record")
        driver.wait_for("sync", lambda: site.store.queue_length() == 0, 20.0)
        record = site.store.get(record_id)
        driver.say(f"synced: {record.sync_state if record else '?'}; server has the records")
        driver.status_lookup(first)
        driver.idle_screens(third)
        driver.status_elsewhere(first, site.second_station())
    except KioskError as exc:
        print(f"demo failed: {exc.detail}", file=sys.stderr)
        driver.shot("failed")
        return 1
    # the first student's record first, then the others waiting (the bound codeless one)
    waiting = [item.record_id for item in site.server.state.records.queue(10, 0, None).records]
    if not _browser_tours(site, [record_id] + [r for r in waiting if r != record_id], first, out, driver.say):
        return 1
    print(f"done in {time.monotonic() - started:.1f}s: {len(driver.shots)} screenshots in {out}/")
    return 0


def _open_pages(site) -> None:  # type: ignore[no-untyped-def]
    """Windowed: the review console's sign-in and the student's page in the desktop's browser."""
    from kiosk.console_tour import login_url
    from kiosk.student_tour import open_in_browser

    for what, url in (("review console", login_url(site.server.base_url)),
                      ("student page", f"{site.server.base_url}/s?lang=zh")):
        opened = open_in_browser(url)
        print(f"{what}: {url}{'' if opened else ' (no browser found: open it by hand)'}")
    for user in site.console_users:
        print(f"console {user.role}: name {user.name}, password {user.password}")


def _browser_tours(site, record_ids: list[str], student, out: Path, say) -> bool:  # type: ignore[no-untyped-def]
    """Headless: the review console and the first student's page in Chromium (skipped without Chromium).

    The reviewer approves the first student's record (and rejects the second's)
    at the console while the student's page waits; the student confirms and
    downloads; the coordinator opens the dashboard.
    """
    from kiosk import console_tour
    from kiosk.student_tour import browser_available, headless_chromium, link_secret, status_link_on_screen, tour

    if not browser_available():
        log.warning("demo.browser_missing")
        say("review console and student page: skipped (Playwright or /usr/bin/chromium is not installed)")
        return True
    reviewer, coordinator = site.console_users
    base = site.server.base_url
    record = site.store.get(record_ids[0])
    stored = (record.metadata().get("status_secret") if record is not None else None) or None
    # the student's phone reads the link off the Done screen, so the demo does too
    done_shots = sorted(out.glob("*_done.png"))
    link = status_link_on_screen(done_shots[0]) if done_shots else None
    secret = link_secret(link) if link else None
    if secret is None:
        log.warning("demo.status_link_unread shots=%d", len(done_shots))
        say("student page: no status link read off the Done screen's QR; opened from the station's record")
        secret = stored
    elif secret != stored:
        print("demo failed: the Done screen's QR does not hold the record's status link", file=sys.stderr)
        return False
    else:
        say("student page: link read off the Done screen's QR")
    with headless_chromium() as browser:
        def review() -> None:
            console_tour.review(browser, base, reviewer, out, approve_id=record_ids[0],
                                reject_id=record_ids[1] if len(record_ids) > 1 else None, say=say)

        result = tour(browser, base, record_ids[0], out, review=review, secret=secret,
                      code=(student.payload, student.last_four), say=say)
        console_tour.dashboard(browser, base, coordinator, out, say=say)
    photo = site.server.state.photos.path(record.metadata()["photo_sha256"]).read_bytes() if record else b""
    if result.photo != photo:
        print("demo failed: the downloaded photo is not the stored one", file=sys.stderr)
        return False
    return True
