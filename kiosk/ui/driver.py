"""The headless demo's student and operator: taps the screens as a person would.

It waits for each screen the way a person looks at it, holds demo codes up to
the demo camera, types on the keypads, lets auto-capture take the photo, and
saves a screenshot of every screen it sees. Each step is printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PyQt5.QtCore import QCoreApplication, QEventLoop

from kiosk import flow
from kiosk.errors import KioskError
from kiosk.ui.session import Session


class DemoStepFailed(KioskError):
    """A screen the demo waited for did not come."""

    default_key = "error.unexpected"


class Driver:
    """Drives ``session`` through the student and operator paths."""

    def __init__(self, session: Session, camera: Any, out_dir: Path | None,
                 echo: Callable[[str], None] = print) -> None:
        self.session = session
        self.window = session.window
        self.camera = camera
        self.out_dir = out_dir
        self.echo = echo
        self.shots: list[Path] = []
        self.step = 0
        self.t0 = time.monotonic()

    # -- primitives ---------------------------------------------------------

    def pump(self, seconds: float) -> None:
        """Let the event loop run for ``seconds``."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.005)

    def wait_for(self, what: str, done: Callable[[], bool], timeout: float = 15.0) -> None:
        """Run the event loop until ``done()``; ``DemoStepFailed`` after ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while not done():
            if time.monotonic() > end:
                raise DemoStepFailed(detail=f"timeout waiting for {what} (on {type(self.state).__name__})")
            self.pump(0.02)

    def wait_state(self, kind: type, timeout: float = 15.0, settled: bool = True) -> None:
        """Wait for a state of type ``kind`` that is not busy."""
        self.wait_for(kind.__name__, lambda: isinstance(self.state, kind) and not (settled and self.state.busy),
                      timeout)

    @property
    def state(self) -> flow.State:
        """The session's state."""
        return self.session.state

    def say(self, text: str) -> None:
        """Print one numbered step."""
        self.step += 1
        self.echo(f"[{time.monotonic() - self.t0:5.1f}s] {self.step:2d}. {text}")

    def shot(self, name: str) -> Path | None:
        """Screenshot of the window as it is now (none when there is no output folder)."""
        if self.out_dir is None:
            return None
        self.pump(0.08)
        path = self.out_dir / f"{len(self.shots) + 1:02d}_{name}.png"
        self.window.screenshot(str(path))
        self.shots.append(path)
        return path

    def tap(self, button: Any) -> None:
        """A finger on ``button``, once the screen takes taps (a person looks before tapping)."""
        if not (button.isVisible() and button.isEnabled()):
            raise DemoStepFailed(detail=f"button not available: {button.text()}")
        self.wait_for("the screen to take taps", self.window.current.ready, 5.0)
        button.click()
        self.pump(0.05)

    def keypad(self, keys: str) -> None:
        """Type ``keys`` on the current screen's keypad and press OK."""
        pad = self.window.current.keypad
        for key in keys:
            self.tap(pad.keys[key])
        self.tap(pad.ok_button)

    def type_into(self, edit: Any, text: str) -> None:
        """Type ``text`` on the physical keyboard into ``edit``."""
        edit.setFocus()
        edit.setText(edit.text() + text)
        edit.textEdited.emit(edit.text())
        self.pump(0.05)

    def show_code(self, payload: str | None) -> None:
        """The person holds ``payload`` up to the camera (None: puts it away)."""
        self.camera.show_code(payload)

    def send(self, event: flow.Event) -> None:
        """A tap whose button the screen draws with the event attached."""
        self.session.dispatch(event)
        self.pump(0.05)

    # -- paths ------------------------------------------------------------

    def capture_and_accept(self, who: str) -> None:
        """Stand still for auto-capture (tap the shutter if it does not fire), check and accept."""
        self.wait_state(flow.Capture)
        self.camera.set_pose(dx=0.0, dy=0.0)
        self.say(f"{who}: stands in the oval; auto-capture guides and counts down")
        try:
            self.wait_for("countdown", lambda: isinstance(self.state, flow.Capture)
                          and getattr(self.state, "phase", "") in ("countdown", "shoot"), 8.0)
            self.shot("capture_countdown")
        except DemoStepFailed:
            self.shot("capture")
        try:
            self.wait_state(flow.Review, 10.0)
            self.say(f"{who}: auto-capture took the photo")
        except DemoStepFailed:
            self.say(f"{who}: taps the shutter (no auto-capture: {self.state.error or 'no shot'})")
            self.tap(self.window.current.shutter)
            self.wait_state(flow.Review, 10.0)
        self.shot("review")
        self.say(f"{who}: checks the standard photo and accepts it")
        self.tap(self.window.current.accept)
        self.wait_state(flow.Done, 10.0)

    def consent(self, who: str) -> None:
        """Read the notice and the dress rules, and agree."""
        self.wait_state(flow.Consent)
        self.shot("consent")
        self.say(f"{who} reads what is collected, why, for how long and who sees it, and the dress rules; "
                 "taps 同意")
        self.tap(self.window.current.agree)

    def student(self, student: Any) -> str:
        """A student with a code, from Welcome to Done; the record id."""
        self.wait_state(flow.Welcome)
        self.shot("welcome")
        self.say("student taps 扫码拍照 (scan code and take photo)")
        self.tap(self.window.current.start)
        self.wait_state(flow.ScanCode)
        self.wait_for("preview", lambda: self.window.current.preview.frames_shown > 2, 15.0)
        self.shot("scan")
        self.say("student holds the collection code up to the camera")
        self.show_code(student.payload)
        self.wait_state(flow.Verify)
        self.show_code(None)
        self.shot("verify")
        self.say(f"student types the last four on the keypad ({len(student.last_four)} keys)")
        self.keypad(student.last_four)
        self.wait_state(flow.Confirm)
        self.shot("confirm")
        self.say("student confirms the masked name, school and student number")
        self.send(flow.ThatsMeTapped())
        self.consent("student")
        if isinstance(self.state, flow.FeeNotice):
            self.shot("fee")
            self.say("student reads the fee notice and continues")
            self.send(flow.FeeAcknowledged())
        self.capture_and_accept("student")
        receipt = self.state.receipt  # type: ignore[attr-defined]
        self.say(f"record saved: receipt {receipt.short_id}")
        self.shot("done")
        return str(receipt.record_id)

    def operator(self, pin: str = "0000") -> None:
        """Staff opens operator mode."""
        self.wait_state(flow.Welcome)
        self.say("staff taps 工作人员 and types the PIN")
        self.tap(self.window.staff_button)
        self.wait_state(flow.PinEntry)
        self.shot("pin")
        self.keypad(pin)
        self.wait_state(flow.OperatorMenu)

    def codeless(self, phone: str, last_four: str, name: str) -> str:
        """A codeless capture through operator mode; the claim ticket."""
        self.operator()
        self.shot("operator_menu")
        self.say("staff chooses codeless capture and types phone, last four and name")
        self.send(flow.MenuChosen(flow.MENU_CODELESS))
        self.wait_state(flow.CodelessForm)
        fields = self.window.current.fields
        self.type_into(fields["phone"], phone)
        self.type_into(fields["id_last4"], last_four)
        self.type_into(fields["name"], name)
        self.shot("codeless")
        self.send(flow.SubmitTapped())
        self.wait_state(flow.Consent)
        self.consent("codeless student")
        self.wait_for("capture", lambda: isinstance(self.state, flow.FeeNotice | flow.Capture) and not self.state.busy)
        if isinstance(self.state, flow.FeeNotice):
            self.send(flow.FeeAcknowledged())
        self.capture_and_accept("codeless student")
        receipt = self.state.receipt  # type: ignore[attr-defined]
        self.say(f"codeless record saved: claim ticket {receipt.ticket_display}")
        self.shot("done_ticket")
        self.send(flow.FinishTapped())
        return str(receipt.ticket)

    def bind(self, ticket: str, student: Any) -> None:
        """Bind a code to a codeless record at the station."""
        self.operator()
        self.say("staff chooses bind-later and types the claim ticket")
        self.send(flow.MenuChosen(flow.MENU_BIND))
        self.wait_state(flow.BindTicket)
        self.type_into(self.window.current.ticket, ticket)
        self.shot("bind_ticket")
        self.send(flow.SubmitTapped())
        self.wait_for("code stage", lambda: getattr(self.state, "stage", "") == "code" and not self.state.busy)
        self.say("student holds up the collection code")
        self.show_code(student.payload)
        self.wait_for("last-four stage", lambda: getattr(self.state, "stage", "") == "last4", 15.0)
        self.show_code(None)
        self.shot("bind_last_four")
        self.say("student types the last four")
        self.keypad(student.last_four)
        self.wait_for("bound", lambda: getattr(self.state, "stage", "") == "done" and not self.state.busy)
        self.shot("bind_done")
        self.say("code bound to the codeless record")

    def operator_screens(self) -> None:
        """Station status, batch setup and statistics."""
        self.send(flow.FinishTapped())
        self.wait_state(flow.OperatorMenu)
        for item, kind, name in ((flow.MENU_STATUS, flow.StationStatus, "station_status"),
                                 (flow.MENU_BATCH, flow.BatchSetup, "batch_setup"),
                                 (flow.MENU_STATS, flow.Statistics, "statistics")):
            self.send(flow.MenuChosen(item))
            self.wait_state(kind)
            if kind is flow.BatchSetup:
                self.send(flow.SubmitTapped())
                self.wait_state(kind)
            self.shot(name)
            self.say(f"staff opens {name.replace('_', ' ')}")
            self.send(flow.BackTapped())
            self.wait_state(flow.OperatorMenu)
        self.send(flow.BackTapped())

    def status_lookup(self, student: Any) -> None:
        """The first student comes back to check the review status."""
        self.wait_state(flow.Welcome)
        self.say("student taps 查询审核进度 (check review status) and shows the code")
        self.tap(self.window.current.status)
        self.wait_state(flow.StatusShown)
        self.show_code(student.payload)
        self.wait_for("status", lambda: getattr(self.state, "view", None) is not None or bool(self.state.error), 15.0)
        self.show_code(None)
        self.shot("status")
        view = getattr(self.state, "view", None)
        self.say(f"status: {view.status if view else self.state.error}"
                 + (f", queue position {view.queue_position}" if view and view.queue_position else ""))
        self.send(flow.BackTapped())

    def later(self, seconds: float) -> None:
        """The clock jumps ``seconds`` ahead of now (the demo does not wait out a real timeout)."""
        now = time.monotonic()
        self.send(flow.Tick(now))
        self.send(flow.Tick(now + seconds))

    def idle_screens(self, student: Any) -> None:
        """A student walks away mid-entry: "still there?"; they come back; later the attract screen."""
        settings = self.state.ctx.settings
        self.wait_state(flow.Welcome)
        self.say("another student holds the code up on Welcome and starts typing, then turns away")
        self.show_code(student.payload)
        self.wait_state(flow.Verify)
        self.show_code(None)
        pad = self.window.current.keypad
        self.tap(pad.keys[student.last_four[0]])
        self.later(settings.idle_timeout_s + 1)
        self.wait_state(flow.StillThere)
        self.shot("still_there")
        self.say(f"还在吗？ counts down from {int(settings.still_there_s)} s; the student comes back and taps 继续")
        self.tap(self.window.current.go_on)
        self.wait_state(flow.Verify)
        self.say("what was typed is still there; the student leaves with 返回")
        self.send(flow.BackTapped())
        self.send(flow.BackTapped())
        self.wait_state(flow.Welcome)
        self.later(settings.attract_after_s + 1)
        self.wait_state(flow.Attract)
        self.shot("attract")
        self.say("nobody at the station: the attract screen shows the steps; a touch brings Welcome back")
        self.send(flow.ContinueTapped())
        self.wait_state(flow.Welcome)

