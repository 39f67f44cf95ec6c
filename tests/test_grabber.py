"""The grabber: one latest-frame slot, and surviving an unplugged camera."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kiosk.camera import CameraLost, CameraNotFound, DemoCamera, Grabber
from kiosk.config import CameraSection


class GatedSource:
    """A source that yields one frame per ``release()``; frame n has every pixel = n."""

    name = "gated"

    def __init__(self) -> None:
        self.gate = threading.Semaphore(0)
        self.reads = 0
        self.opened = 0
        self.closed = 0

    def open(self) -> None:
        self.opened += 1

    def read(self) -> np.ndarray:
        # Like a driver's read timeout: a read never blocks for ever.
        if not self.gate.acquire(timeout=0.3):
            raise CameraLost()
        self.reads += 1
        return np.full((4, 4, 3), self.reads % 256, np.uint8)

    def close(self) -> None:
        self.closed += 1

    def release(self, n: int) -> None:
        for _ in range(n):
            self.gate.release()


class ScriptedSource:
    """Each step is "frame", "lost" (read raises), "none" (read returns None); opens fail on demand."""

    name = "scripted"

    def __init__(self, steps: list[str], open_failures: int = 0) -> None:
        self.steps = list(steps)
        self.open_failures = open_failures
        self.opens = 0
        self.closes = 0
        self.reads = 0
        self.done = threading.Event()
        self.opens_when_done = 0

    def open(self) -> None:
        self.opens += 1
        if self.opens > 1 and self.open_failures > 0:
            self.open_failures -= 1
            raise CameraNotFound("camera.not_found", device="scripted")

    def read(self) -> np.ndarray | None:
        if not self.steps:
            if not self.done.is_set():
                self.opens_when_done = self.opens
            self.done.set()
            self.done_wait()
            raise CameraLost()
        step = self.steps.pop(0)
        self.reads += 1
        if step == "lost":
            raise CameraLost()
        if step == "none":
            return None
        return np.full((2, 2, 3), self.reads, np.uint8)

    def done_wait(self) -> None:
        threading.Event().wait(0.02)

    def close(self) -> None:
        self.closes += 1


def recorder() -> tuple[list[str], Callable[[str], None]]:
    states: list[str] = []
    return states, states.append


def test_slow_consumer_gets_the_newest_frame_not_a_backlog() -> None:
    source = GatedSource()
    with Grabber(source) as grabber:
        source.release(1)
        first = grabber.wait_newer(0, 2.0)
        assert first is not None and first.seq == 1
        # The consumer is busy while five more frames arrive.
        source.release(5)
        newest = None
        for _ in range(100):
            newest = grabber.wait_newer(first.seq, 2.0)
            if newest is not None and newest.seq == 6:
                break
        assert newest is not None and newest.seq == 6
        # Asking for anything newer than frame 1 gives frame 6: frames 2-5 are gone.
        again = grabber.wait_newer(1, 0.5)
        assert again is not None and again.seq == 6
        assert int(again.image[0, 0, 0]) == 6
        assert grabber.latest() is again
        assert grabber.wait_newer(6, 0.05) is None  # nothing newer: times out


def test_frames_carry_clock_time() -> None:
    source = GatedSource()
    ticks = iter(range(100, 200))
    with Grabber(source, clock=lambda: float(next(ticks))) as grabber:
        source.release(2)
        frame = None
        while frame is None or frame.seq < 2:
            frame = grabber.wait_newer(frame.seq if frame else 0, 2.0)
        assert frame.t == 101.0
        assert grabber.fps == pytest.approx(1.0)  # one frame per tick of this clock


def test_lost_mid_stream_reconnects_with_back_off_and_resumes() -> None:
    source = ScriptedSource(["frame", "frame", "frame", "lost", "frame", "frame"], open_failures=3)
    sleeps: list[float] = []
    states, listen = recorder()
    grabber = Grabber(source, reconnect_max_s=5.0, sleep=sleeps.append)
    grabber.add_listener(listen)
    grabber.start()
    assert source.done.wait(3.0)
    last = grabber.latest()
    grabber.stop()
    assert states[:3] == ["ok", "disconnected", "ok"]
    assert states[-1] == "stopped"
    assert last is not None and last.seq == 5  # 3 before the loss, 2 after
    assert int(last.image[0, 0, 0]) == 6  # the 6th read (the 4th was the loss)
    assert sleeps[:4] == [0.1, 0.2, 0.4, 0.8]  # three failed reopens, then success
    assert source.opens_when_done == 5
    assert grabber.reconnects >= 1


def test_back_off_is_capped() -> None:
    source = ScriptedSource(["lost", "frame"], open_failures=8)
    sleeps: list[float] = []
    grabber = Grabber(source, reconnect_max_s=0.5, sleep=sleeps.append)
    grabber.start()
    assert source.done.wait(3.0)
    grabber.stop()
    assert sleeps[:9] == [0.1, 0.2, 0.4, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]


def states_until_done(source: Any) -> list[str]:
    """The grabber's states while it reads ``source`` to the end of its script (no real sleeps)."""
    states, listen = recorder()
    grabber = Grabber(source, sleep=lambda s: None)
    grabber.add_listener(listen)
    grabber.start()
    assert source.done.wait(3.0)
    grabber.stop()
    return states


def test_a_failed_read_counts_as_disconnected() -> None:
    source = ScriptedSource(["frame", "none", "frame"])
    states = states_until_done(source)
    assert states[:3] == ["ok", "disconnected", "ok"]
    assert source.closes >= 2  # closed on the failure and at stop


def test_a_source_that_never_opens_stays_disconnected_until_stopped() -> None:
    class Absent:
        name = "absent"

        def open(self) -> None:
            raise CameraNotFound("camera.not_found", device="x")

        def read(self) -> np.ndarray:
            raise AssertionError("never read")

        def close(self) -> None:
            pass

    grabber = Grabber(Absent(), reconnect_max_s=0.05, reconnect_min_s=0.01)
    gone = threading.Event()
    grabber.add_listener(lambda state: gone.set() if state == "disconnected" else None)
    grabber.start()
    assert gone.wait(3.0)
    assert grabber.wait_newer(0, 0.1) is None
    assert grabber.state == "disconnected"
    grabber.stop()
    assert grabber.state == "stopped"


def test_a_faulty_listener_does_not_stop_the_camera() -> None:
    source = ScriptedSource(["frame", "lost", "frame", "frame"])
    grabber = Grabber(source, sleep=lambda s: None)

    def bad(state: str) -> None:
        raise RuntimeError("listener bug")

    grabber.add_listener(bad)
    grabber.start()
    assert source.done.wait(3.0)
    frame = grabber.latest()
    grabber.stop()
    assert frame is not None and frame.seq == 3


def test_stop_joins_closes_and_wakes_waiters() -> None:
    source = GatedSource()
    grabber = Grabber(source).start()
    result: list[object] = ["pending"]
    waiter = threading.Thread(target=lambda: result.__setitem__(0, grabber.wait_newer(0, 5.0)))
    waiter.start()
    grabber.stop()
    waiter.join(2.0)
    assert not waiter.is_alive()
    assert result[0] is None
    assert grabber.state == "stopped"
    assert source.closed >= 1  # (also closed earlier if a read timed out on a busy machine)
    grabber.stop()  # twice is harmless


class SlowFirstRead(GatedSource):
    """A driver whose first read takes longer than a stop's own timeout (a loaded machine at start-up)."""

    def __init__(self) -> None:
        super().__init__()
        self.in_read = threading.Event()

    def read(self) -> np.ndarray:
        self.in_read.set()
        threading.Event().wait(0.5)
        self.reads += 1
        return np.zeros((4, 4, 3), np.uint8)


def test_stop_waits_for_a_read_still_in_the_driver(caplog: pytest.LogCaptureFixture) -> None:
    source = SlowFirstRead()
    grabber = Grabber(source).start()
    assert source.in_read.wait(2.0)
    thread = grabber._thread
    grabber.stop(timeout=0.05)
    # the process may now close the source and exit: nothing is left inside the driver
    assert thread is not None and not thread.is_alive()
    assert "camera.stop_slow" in caplog.text and "camera.stop_timeout" not in caplog.text


def test_demo_camera_unplug_and_replug_through_the_grabber() -> None:
    settings = CameraSection(source="demo", width=320, height=240, fps=60)
    camera = DemoCamera(settings)
    camera.open()
    changed = threading.Event()
    states, listen = recorder()

    def on_state(state: str) -> None:
        listen(state)
        changed.set()

    grabber = Grabber(camera, reconnect_max_s=0.05, reconnect_min_s=0.01)
    grabber.add_listener(on_state)
    with grabber:
        frame = grabber.wait_newer(0, 15.0)  # the first frame is drawn from the portrait: slow on a loaded machine
        assert frame is not None and frame.image.shape == (240, 320, 3)
        camera.unplug()
        for _ in range(100):
            if grabber.state == "disconnected":
                break
            changed.wait(0.05)
            changed.clear()
        assert grabber.state == "disconnected"
        stale = grabber.latest()
        assert stale is not None
        camera.replug()
        resumed = grabber.wait_newer(stale.seq, 3.0)
        assert resumed is not None and grabber.state == "ok"
    assert states == ["ok", "disconnected", "ok", "stopped"]


@pytest.mark.parametrize("bad", [ValueError("decoder"), OSError(5, "EIO")])
def test_other_source_failures_are_treated_as_a_loss(bad: Exception) -> None:
    class Flaky(ScriptedSource):
        def read(self) -> np.ndarray | None:
            if self.reads == 1 and self.steps:
                self.reads += 1
                raise bad
            return super().read()

    source = Flaky(["frame", "frame", "frame"])
    states = states_until_done(source)
    assert states[:3] == ["ok", "disconnected", "ok"]


class UnpluggableCapture:
    """A fake ``cv2.VideoCapture`` whose cable can be pulled: reads fail and it will not open."""

    plugged = True

    def __init__(self, device: object, backend: int | None = None) -> None:
        self.is_open = UnpluggableCapture.plugged

    def isOpened(self) -> bool:
        return self.is_open

    def set(self, prop: int, value: float) -> bool:
        return True

    def get(self, prop: int) -> float:
        return 0.0

    def read(self) -> tuple[bool, np.ndarray | None]:
        threading.Event().wait(0.005)  # a camera delivers at its own pace
        if not UnpluggableCapture.plugged:
            return False, None
        return True, np.zeros((48, 64, 3), np.uint8)

    def release(self) -> None:
        self.is_open = False


def test_usb_camera_unplugged_and_replugged_under_the_grabber() -> None:
    from kiosk.camera import UsbCamera

    UnpluggableCapture.plugged = True
    camera = UsbCamera(CameraSection(source="0"), capture_factory=UnpluggableCapture)
    states, listen = recorder()
    changed = threading.Condition()

    def on_state(state: str) -> None:
        with changed:
            listen(state)
            changed.notify_all()

    grabber = Grabber(camera, reconnect_max_s=0.05, reconnect_min_s=0.01)
    grabber.add_listener(on_state)
    with grabber:
        first = grabber.wait_newer(0, 2.0)
        assert first is not None
        UnpluggableCapture.plugged = False
        with changed:
            assert changed.wait_for(lambda: "disconnected" in states, 2.0)
        threading.Event().wait(0.1)  # several reconnect attempts fail while unplugged
        assert grabber.state == "disconnected"
        UnpluggableCapture.plugged = True
        with changed:
            assert changed.wait_for(lambda: states[-1] == "ok" and len(states) >= 3, 2.0)
        latest = grabber.latest()
        assert latest is not None
        resumed = grabber.wait_newer(latest.seq, 2.0)
        assert resumed is not None and resumed.seq > first.seq
    assert states == ["ok", "disconnected", "ok", "stopped"]
    assert grabber.reconnects == 1


def test_grabber_over_a_looping_video(tmp_path: Path) -> None:
    import cv2

    from kiosk.camera import FileSource

    path = tmp_path / "loop.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 100.0, (64, 48))
    for i in range(3):
        writer.write(np.full((48, 64, 3), 60 * i, np.uint8))
    writer.release()
    with Grabber(FileSource(path, fps=200)) as grabber:
        seq = 0
        for _ in range(8):  # more frames than the video has: it loops
            frame = grabber.wait_newer(seq, 2.0)
            assert frame is not None and frame.image.shape == (48, 64, 3)
            seq = frame.seq
        assert grabber.state == "ok"
