#!/usr/bin/env python3
"""The station's real windows under Xvfb, driven from outside as a person would: the parts of a tour.

``XStation`` starts ``Xvfb`` (or uses a running display) and the windowed demo
(``kiosk demo --windowed --second-station --widget-map FILE``), reads the
widget map to find each button, taps and types with ``xdotool`` and grabs the
screen with Pillow. ``scripts/xvfb_tour.py`` holds the paths a student or an
operator takes; ``tests/test_ui_xvfb.py`` drives the first of them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class TourFailed(Exception):
    """A path did not reach the screen it expected."""


class XStation:
    """The X server, the demo's windows and the taps, keys and screenshots that drive them."""

    def __init__(self, out: Path, display: str, size: str) -> None:
        self.out = out
        self.display = display
        self.size = size
        self.map_path = out / "widgets.json"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.n = 0
        self.path = ""
        self.shots: list[Path] = []
        self.ticket_shown_last = ""  # the claim ticket the codeless path saw on Done

    # -- processes ----------------------------------------------------------------

    def start(self, own_display: bool) -> None:
        """Xvfb (when ours), then the windowed demo; waits until its windows are mapped."""
        self.out.mkdir(parents=True, exist_ok=True)
        for old in self.out.glob("*.png"):
            old.unlink()
        self.map_path.unlink(missing_ok=True)
        width, _, height = self.size.partition("x")
        if own_display:
            # room for two stations and their remotes side by side
            screen = f"{2 * int(width) + 1400}x{max(int(height), 1000)}x24"
            self.procs.append(subprocess.Popen(["Xvfb", self.display, "-screen", "0", screen, "-nolisten", "tcp"],
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(1.0)
        # BROWSER=true: the demo's "open the page in the desktop's browser" does nothing on this X screen
        env = dict(os.environ, DISPLAY=self.display, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(ROOT), BROWSER="true")
        log = (self.out / "demo.log").open("wb")
        self.procs.append(subprocess.Popen(
            [sys.executable, "-m", "kiosk", "demo", "--windowed", "--second-station", "--window-size", self.size,
             "--widget-map", str(self.map_path)], env=env, cwd=self.out, stdout=log, stderr=subprocess.STDOUT))
        self.wait(lambda: "station" in self.map() and "second" in self.map(), 60, "the demo's windows")

    def stop(self) -> None:
        """End the demo and Xvfb we started (by process id), newest first."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()

    # -- what is on screen --------------------------------------------------------

    def map(self) -> dict[str, Any]:
        """The widget map the demo keeps up to date."""
        try:
            return dict(json.loads(self.map_path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    def window(self, name: str = "station") -> dict[str, Any]:
        """One window's entry in the map."""
        return dict(self.map().get(name, {}))

    def wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``done`` until it holds; TourFailed naming ``what`` after ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if done():
                return
            time.sleep(0.1)
        raise TourFailed(f"{self.path}: waited {timeout:.0f}s for {what}; on screen: {self.describe()}")

    def describe(self, name: str = "station") -> str:
        """The screen, state and visible texts of a window (for failure messages)."""
        w = self.window(name)
        texts = [c["text"] for c in w.get("controls", []) if c["text"]]
        return f"{w.get('screen')}/{w.get('state')} error={w.get('error')} {texts}"

    def wait_screen(self, screen: str, name: str = "station", timeout: float = 20.0) -> None:
        """Until ``name`` shows ``screen`` and is not busy."""
        self.wait(lambda: self.window(name).get("screen") == screen and not self.window(name).get("busy"),
                  timeout, f"screen {screen} on {name}")

    def find(self, text: str, name: str = "station", *, kinds: tuple[str, ...] = ("QPushButton",),
             exact: bool = False) -> dict[str, Any]:
        """The visible control whose text is (or contains) ``text``; the last one when several match."""
        matches = [c for c in self.window(name).get("controls", [])
                   if c["kind"] in kinds and (c["text"] == text if exact else text in c["text"])]
        if not matches:
            raise TourFailed(f"{self.path}: no control {text!r} on {name}: {self.describe(name)}")
        return matches[-1]

    def has(self, text: str, name: str = "station") -> bool:
        """Whether any visible control on ``name`` shows ``text``."""
        return any(text in c["text"] for c in self.window(name).get("controls", []))

    # -- a person's hands -----------------------------------------------------------

    def xdotool(self, *args: str) -> None:
        """Run xdotool on our display."""
        subprocess.run(["xdotool", *args], env=dict(os.environ, DISPLAY=self.display), check=True)

    def tap(self, text: str, name: str = "station", *, exact: bool = False, wait_enabled: bool = True) -> None:
        """Tap the button showing ``text`` at its centre, after the person has read the screen."""
        if wait_enabled:
            self.wait(lambda: self._enabled(text, name, exact), 10, f"{text!r} enabled on {name}")
        time.sleep(0.8)  # longer than the tap guard: a person reads before tapping
        c = self.find(text, name, exact=exact)
        self.xdotool("mousemove", str(c["x"] + c["w"] // 2), str(c["y"] + c["h"] // 2), "click", "1")
        time.sleep(0.3)

    def _enabled(self, text: str, name: str, exact: bool) -> bool:
        try:
            return bool(self.find(text, name, exact=exact)["enabled"])
        except TourFailed:
            return False

    def keys(self, keys: str, name: str = "station", *, submit: bool = True, pad: int = -1, ok: str = "确定") -> None:
        """Tap keys on the on-screen keypad (``pad``: which, left to right, when there are two), then OK."""
        time.sleep(0.8)
        for key in keys:
            matches = sorted((c for c in self.window(name).get("controls", [])
                              if c["kind"] == "QPushButton" and c["text"] == key), key=lambda c: c["x"])
            if not matches:
                raise TourFailed(f"{self.path}: no key {key!r} on {name}: {self.describe(name)}")
            c = matches[pad if len(matches) > 1 else 0]
            self.xdotool("mousemove", str(c["x"] + c["w"] // 2), str(c["y"] + c["h"] // 2), "click", "1")
            time.sleep(0.15)
        if submit:
            self.tap(ok, name, exact=True)

    def remote(self, text: str, name: str = "remote") -> None:
        """Tap a button on a demo remote (the person in front of that station's camera)."""
        self.tap(text, name, wait_enabled=False)

    def shot(self, step: str, *, full: bool = False, name: str = "station") -> Path:
        """Grab the X screen; keep the window ``name`` (or everything with ``full``)."""
        from PIL import ImageGrab

        time.sleep(0.6)  # let the screen finish painting
        self.n += 1
        image = ImageGrab.grab(xdisplay=self.display)
        if not full:
            w = self.window(name)
            image = image.crop((w["x"], w["y"], w["x"] + w["w"], w["y"] + w["h"]))
        path = self.out / f"{self.n:02d}_{self.path}_{step}{'_full' if full else ''}.png"
        image.save(path)
        self.shots.append(path)
        print(f"  {path.name}", flush=True)
        return path

    def home(self, name: str = "station") -> None:
        """Back to Welcome from wherever a path ended (cancel, back, finish, menu close)."""
        for _ in range(8):
            w = self.window(name)
            if w.get("screen") == "welcome":
                return
            if w.get("screen") == "attract":
                self._tap_centre(name)  # a touch anywhere
                time.sleep(0.5)
                continue
            for label in ("完成", "退出菜单，回到首页", "返回工作人员菜单", "取消，不采集了", "取消", "返回", "继续"):
                if self.has(label, name) and self._enabled(label, name, False):
                    self.tap(label, name, wait_enabled=False)
                    break
            else:
                time.sleep(1.0)
        self.wait_screen("welcome", name)

    def _tap_centre(self, name: str) -> None:
        w = self.window(name)
        self.xdotool("mousemove", str(w["x"] + w["w"] // 2), str(w["y"] + w["h"] // 2), "click", "1")

    def operator(self, name: str = "station", pin: str = "0000") -> None:
        """Staff sign in: the header's 工作人员, then the PIN."""
        self.tap("工作人员", name, exact=True)
        self.wait_screen("pin", name)
        self.keys(pin, name)
        self.wait_screen("menu", name)

    # -- steps the paths share -----------------------------------------------------

    def student_to_capture(self, n: int, last_four: str, *, from_welcome: bool = False) -> None:
        """Student ``n`` (of the remote's codes) from Welcome to Capture."""
        if not from_welcome:
            self.tap("扫码拍照")
            self.wait_screen("scan")
        self.remote(f"出示 {n} 号学生的采集码")
        self.wait_screen("verify")
        self.remote("收起二维码")
        self.keys(last_four)
        self.confirm_to_capture()

    def confirm_to_capture(self) -> None:
        """From Confirm (last four accepted) through consent and the fee notice to Capture."""
        self.wait_screen("confirm")
        self.tap("是我")
        self.wait_screen("consent")
        self.tap("同意，开始拍照")
        self.wait_screen("fee")
        self.tap("我已知晓，继续")
        self.wait_screen("capture")

    def capture_to_done(self) -> None:
        """Auto-capture takes the photo; the student accepts it."""
        self.wait_screen("review", timeout=40)
        self.shot("review")
        self.tap("确认提交")
        self.wait_screen("done", timeout=30)
