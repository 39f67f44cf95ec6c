"""The worker-to-signal bridge: newest frames only, work off the GUI thread, results on it."""

from __future__ import annotations

import threading
import time

from PyQt5.QtCore import QThread

from kiosk.errors import KioskError
from kiosk.ui.bridge import FramePump, FrameWorker, TaskRunner
from tests.test_ui_fakes import FakeGrabber


class CountingGrabber(FakeGrabber):
    """A camera that made ``seq`` frames; ``latest`` never makes a new one."""

    def __init__(self) -> None:
        super().__init__()
        self.seq = 0

    def latest(self):  # type: ignore[no-untyped-def]
        from tests.test_ui_fakes import FakeFrame

        return FakeFrame(self.image, self.seq, time.monotonic()) if self.seq else None

    def wait_newer(self, seq, timeout):  # type: ignore[no-untyped-def]
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.seq > seq:
                return self.latest()
            time.sleep(0.002)
        return None


def test_pump_paints_only_newer_frames(qtbot) -> None:
    grabber = CountingGrabber()
    pump = FramePump(grabber)
    seen: list[int] = []
    pump.frame.connect(lambda f: seen.append(f.seq))
    pump.tick()
    grabber.seq = 5  # five frames arrived between two ticks: only the newest is painted
    pump.tick()
    pump.tick()
    grabber.seq = 6
    pump.tick()
    assert seen == [5, 6]


def test_pump_reports_camera_state_changes(qtbot) -> None:
    grabber = CountingGrabber()
    pump = FramePump(grabber)
    states: list[str] = []
    pump.camera_state.connect(states.append)
    pump.tick()
    grabber.state = "disconnected"
    pump.tick()
    pump.tick()
    grabber.state = "ok"
    pump.tick()
    assert states == ["ok", "disconnected", "ok"]


def test_slow_worker_takes_the_newest_frame_and_reports_on_the_gui_thread(qtbot) -> None:
    grabber = CountingGrabber()
    worked: list[int] = []
    threads: list[bool] = []
    busy, release = threading.Event(), threading.Event()

    def work(frame):  # type: ignore[no-untyped-def]
        worked.append(frame.seq)
        busy.set()
        release.wait(5)  # slower than the camera: held until the test lets go
        return frame.seq

    worker = FrameWorker(grabber, work, "slow")
    results: list[int] = []

    def on_result(_frame, value):  # type: ignore[no-untyped-def]
        results.append(value)
        threads.append(QThread.currentThread() is qtbot_app_thread())

    worker.result.connect(on_result)
    worker.start()
    worker.set_active(True)
    grabber.seq = 1
    qtbot.waitUntil(busy.is_set, timeout=3000)
    for seq in range(2, 31):  # the camera runs on while the worker is busy with frame 1
        grabber.seq = seq
    release.set()
    qtbot.waitUntil(lambda: results == [1, 30], timeout=3000)
    worker.stop()
    assert worked == [1, 30]  # frames 2-29 were dropped, never queued
    assert all(threads)


def qtbot_app_thread():  # type: ignore[no-untyped-def]
    from PyQt5.QtWidgets import QApplication

    return QApplication.instance().thread()


def test_inactive_worker_does_no_work(qtbot) -> None:
    grabber = CountingGrabber()
    calls: list[int] = []
    worker = FrameWorker(grabber, lambda f: calls.append(f.seq), "idle")
    worker.start()
    grabber.seq = 3
    qtbot.wait(150)
    worker.stop()
    assert calls == []


def test_task_runner_runs_off_the_gui_thread_in_order(qtbot) -> None:
    runner = TaskRunner()
    gui = threading.get_ident()
    ran_on: list[int] = []
    done: list[str] = []
    errors: list[str] = []

    def slow(name: str) -> str:
        ran_on.append(threading.get_ident())
        time.sleep(0.05)
        return name

    def fail() -> None:
        raise KioskError("error.unexpected", "boom")

    gate = threading.Event()
    runner.submit(gate.wait, 5)
    runner.submit(slow, "a", done=done.append)
    runner.submit(fail, failed=lambda e: errors.append(e.key))
    runner.submit(slow, "b", done=done.append)
    assert done == [] and runner.busy  # submitting returned while the work waits
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=3000)
    runner.stop()
    assert done == ["a", "b"]
    assert errors == ["error.unexpected"]
    assert gui not in ran_on


def test_task_runner_turns_a_crash_into_an_error(qtbot) -> None:
    runner = TaskRunner()
    errors: list[KioskError] = []
    runner.submit(lambda: 1 / 0, failed=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=3000)
    runner.stop()
    assert errors[0].key == "error.unexpected"
