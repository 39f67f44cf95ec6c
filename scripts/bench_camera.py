"""Camera figures: demo-scene render time, grabber hand-off latency, preview rate.

Run: .venv/bin/python scripts/bench_camera.py [--seconds 3]

* render: ms per demo-camera frame (scene + natural motion), with and without
  a QR phone, at 1280x720 and 1920x1080;
* hand-off: ms from a frame leaving the source to a waiting consumer holding it;
* slow consumer: age of the frame a consumer busy for 100 ms picks up (stays
  below one frame period when nothing queues);
* preview: frames per second the grabber delivers from the demo camera at 30 fps.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from kiosk.camera import DemoCamera, Grabber
from kiosk.config import CameraSection
from kiosk.scene import Pose, Scene, natural_motion


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_render(width: int, height: int, code: str | None, n: int = 40) -> tuple[float, float]:
    scene = Scene(width, height)
    scene.render(Pose())  # the cut-out is made once per process
    times = []
    for i in range(n):
        t = i / 30
        start = time.perf_counter()
        scene.render(natural_motion(Pose(), t), code_text=code, t=t)
        times.append((time.perf_counter() - start) * 1000)
    return pct(times, 0.5), pct(times, 0.95)


class StampedSource:
    """A 30 fps source whose frames are cheap, so only the hand-off is measured."""

    name = "stamped"

    def __init__(self, fps: float = 30.0) -> None:
        self.period = 1 / fps
        self.image = np.zeros((720, 1280, 3), np.uint8)

    def open(self) -> None:
        pass

    def read(self) -> np.ndarray:
        time.sleep(self.period)
        return self.image

    def close(self) -> None:
        pass


def bench_handoff(seconds: float, busy_s: float) -> list[float]:
    ages = []
    with Grabber(StampedSource(), clock=time.monotonic) as grabber:
        seq, end = 0, time.monotonic() + seconds
        while time.monotonic() < end:
            frame = grabber.wait_newer(seq, 1.0)
            if frame is None:
                continue
            ages.append((time.monotonic() - frame.t) * 1000)
            seq = frame.seq
            if busy_s:
                time.sleep(busy_s)
                latest = grabber.latest()
                if latest is not None:
                    ages.append((time.monotonic() - latest.t) * 1000)
                    seq = latest.seq
    return ages


def bench_preview(seconds: float) -> float:
    camera = DemoCamera(CameraSection(source="demo", fps=30))
    camera.scene.render(Pose())
    camera.open()
    count, seq = 0, 0
    with Grabber(camera) as grabber:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            frame = grabber.wait_newer(seq, 1.0)
            if frame is not None:
                seq, count = frame.seq, count + 1
        elapsed = time.monotonic() - start
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    for w, h in ((1280, 720), (1920, 1080)):
        for code in (None, "KIOSK-REF1." + "x" * 180):
            p50, p95 = bench_render(w, h, code)
            label = "with phone" if code else "plain"
            print(f"render {w}x{h} {label:10s}: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")
    ages = bench_handoff(args.seconds, 0.0)
    print(f"hand-off latency       : p50 {statistics.median(ages):6.2f} ms  p95 {pct(ages, 0.95):6.2f} ms")
    ages = bench_handoff(args.seconds, 0.1)
    print(f"slow consumer (100 ms) : frame age p50 {statistics.median(ages):6.1f} ms  p95 {pct(ages, 0.95):6.1f} ms"
          f"  (one frame = 33.3 ms)")
    print(f"preview, demo at 30 fps: {bench_preview(args.seconds):5.1f} frames/s")


if __name__ == "__main__":
    main()
