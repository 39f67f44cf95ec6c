#!/usr/bin/env python3
"""Drive every path of the station in its real window under Xvfb, and save a screenshot of each step.

    scripts/xvfb_tour.py [--out artifacts/xvfb-tour] [--paths happy,lockout,...] [--size 1080x1920]

Starts ``Xvfb`` on a free display (or uses ``--display``), the windowed demo
(``kiosk demo --windowed --second-station --widget-map FILE``: the embedded
server, the demo camera with its remote, a second station on the same server)
with ``QT_QPA_PLATFORM=xcb``, then taps with ``xdotool`` where the widget map
says each button is, as a student or an operator would, and grabs the X
screen after every step into ``OUT/NN_path_step.png`` (the station's window;
``OUT/NN_..._full.png`` for the whole screen where two windows matter). It
takes a few minutes (the "still there?" path waits out the real idle time);
it is not part of the test suite: ``tests/test_ui_xvfb.py`` is the short check.
Exit 0 when every path reached the screens it expected. Look at the pictures.

Needs Xvfb and xdotool (``scripts/setup.sh`` installs them) and Pillow's X
grab (``ImageGrab.grab(xdisplay=...)``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PATHS = ("happy", "welcome_code", "lockout", "no_code", "codeless", "desk", "bind_mismatch", "camera",
         "still_there", "second_station", "headwear", "pin_lock")


class TourFailed(Exception):
    """A path did not reach the screen it expected."""


class Tour:
    """The X server, the demo and the steps a person takes, with a screenshot after each."""

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

    # -- the paths ------------------------------------------------------------------

    def student_to_capture(self, n: int, last_four: str, *, from_welcome: bool = False) -> None:
        """Student ``n`` (of the remote's codes) from Welcome to Capture."""
        if not from_welcome:
            self.tap("扫码拍照")
            self.wait_screen("scan")
        self.remote(f"出示 {n} 号学生的采集码")
        self.wait_screen("verify")
        self.remote("收起二维码")
        self.keys(last_four)
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

    def path_happy(self) -> None:
        """A student with a code, to Done with the status QR and the phone-number offer."""
        self.shot("welcome")
        self.tap("扫码拍照")
        self.wait_screen("scan")
        self.shot("scan")
        self.remote("出示 1 号学生的采集码")
        self.wait_screen("verify")
        self.remote("收起二维码")
        self.shot("verify")
        self.keys("123X")
        self.wait_screen("confirm")
        self.shot("confirm")
        self.tap("是我")
        self.wait_screen("consent")
        self.shot("consent")
        self.tap("同意，开始拍照")
        self.wait_screen("fee")
        self.shot("fee")
        self.tap("我已知晓，继续")
        self.wait_screen("capture")
        self.shot("capture")
        self.capture_to_done()
        self.shot("done")
        self.tap("短信通知审核结果")
        self.keys("13800138000", submit=False)
        self.shot("done_phone")
        self.tap("同意并保存")
        self.wait(lambda: self.has("已保存"), 10, "the phone saved")
        self.shot("done_phone_saved")
        self.tap("完成", exact=True)
        self.wait_screen("welcome")

    def path_welcome_code(self) -> None:
        """The code held up on Welcome starts the capture (no status screen, no 'start' that does not exist)."""
        self.remote("出示 2 号学生的采集码")
        self.wait_screen("verify")
        self.remote("收起二维码")
        self.shot("verify_from_welcome")
        self.tap("返回")
        self.wait_screen("scan")
        self.tap("返回")
        self.wait_screen("welcome")

    def path_lockout(self) -> None:
        """Three wrong last fours: locked, staff called (banner, chime); staff acknowledge and unlock."""
        self.tap("扫码拍照")
        self.wait_screen("scan")
        self.remote("出示 3 号学生的采集码")
        self.wait_screen("verify")
        self.remote("收起二维码")
        for i in range(3):
            self.keys("9999")
            self.wait(lambda: not self.window().get("busy"), 10, "the check")
            if i == 0:
                self.shot("wrong_once")
        self.wait_screen("scan")
        self.wait(lambda: bool(self.window().get("staff_alert")), 10, "the staff banner")
        self.shot("locked_staff_called")
        self.tap("解锁")
        self.wait_screen("pin")
        self.keys("0000")
        self.wait_screen("verify")
        # the staff who unlocked the code answered the call: the banner goes
        self.wait(lambda: not self.window().get("staff_alert"), 10, "the call answered")
        self.shot("unlocked")
        self.keys("0018")  # the unlocked code works again
        self.wait_screen("confirm")
        self.tap("不是我")
        self.wait_screen("scan")
        self.tap("返回")
        self.wait_screen("welcome")

    def path_no_code(self) -> None:
        """没有采集码 calls staff from Welcome."""
        self.tap("没有采集码", exact=True)
        self.wait_screen("scan")
        self.wait(lambda: bool(self.window().get("staff_alert")), 10, "the staff banner")
        self.shot("staff_called")
        self.tap("返回")
        self.wait_screen("welcome")
        self.wait(lambda: bool(self.window().get("staff_alert")), 10, "the banner kept")
        self.shot("banner_on_welcome")
        self.operator()
        self.shot("menu_with_call")
        self.tap("已到场，关闭呼叫提示")
        self.wait(lambda: not self.window().get("staff_alert"), 10, "the call acknowledged")
        self.shot("call_acknowledged")
        self.tap("退出菜单，回到首页")
        self.wait_screen("welcome")

    def path_codeless(self) -> None:
        """Codeless capture by the operator with keypads; the ticket stays until staff confirm."""
        self.operator()
        self.shot("menu")
        self.tap("无码采集")
        self.wait_screen("codeless")
        self.shot("form")
        self.keys_into_form("13800138000", "1111")
        self.wait_screen("consent")
        self.tap("同意，开始拍照")
        self.wait_screen("fee")
        self.tap("我已知晓，继续")
        self.wait_screen("capture")
        self.capture_to_done()
        self.shot("done_ticket")
        # the ticket as the student sees it, e.g. 04YR-681Z-5
        tickets = [c["text"] for c in self.window().get("controls", [])
                   if c["kind"] == "QLabel" and re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]", c["text"])]
        self.ticket_shown_last = tickets[0] if tickets else ""
        self.tap("工作人员：学生已保存认领码")
        self.wait(lambda: self._enabled("完成", "station", True), 10, "finish enabled")
        self.shot("ticket_handed")
        self.tap("完成", exact=True)
        self.wait_screen("welcome")

    def keys_into_form(self, phone: str, last_four: str) -> None:
        """The codeless form: the phone on the left keypad, the last four on the right one, then start."""
        self.keys(phone, submit=False, pad=0)
        self.keys(last_four, submit=False, pad=-1)
        self.shot("form_filled")
        self.tap("开始拍照")

    def path_desk(self) -> None:
        """The ticket desk: by phone, by ticket, the waiting list, the ticket shown again."""
        self.operator()
        self.tap("认领码查询")
        self.wait_screen("desk")
        self.shot("desk")
        self.keys("13800138000", ok="查找")
        self.wait(lambda: not self.window().get("busy"), 10, "the search")
        self.shot("by_phone")
        self.tap("按认领码")
        ticket = self.ticket_shown_last
        if ticket:
            self.keys(ticket.replace("-", ""), ok="查找")
            self.wait(lambda: not self.window().get("busy"), 10, "the search")
            self.shot("by_ticket")
        self.tap("待绑定列表")
        self.wait(lambda: not self.window().get("busy"), 10, "the list")
        self.shot("waiting_list")
        rows = [c for c in self.window().get("controls", []) if c["kind"] == "QPushButton" and "手机尾号" in c["text"]]
        if rows:
            self.tap(rows[0]["text"], exact=True)
            self.shot("shown_again")
        self.home()

    def path_bind_mismatch(self) -> None:
        """Binding a code whose last four differs from the one typed at the codeless capture: refused, override."""
        self.operator()
        self.tap("认领码查询")
        self.wait_screen("desk")
        self.tap("待绑定列表")
        self.wait(lambda: not self.window().get("busy"), 10, "the list")
        rows = [c["text"] for c in self.window().get("controls", []) if "手机尾号" in c["text"]]
        if not rows:
            raise TourFailed("bind_mismatch: no codeless record waiting (run the codeless path first)")
        ticket = rows[0].split()[0]
        self.tap("返回工作人员菜单")
        self.wait_screen("menu")
        self.tap("补绑采集码")
        self.wait_screen("bind")
        self.keys(ticket.replace("-", ""), ok="查找记录")
        self.wait(lambda: not self.window().get("busy"), 10, "the ticket")
        self.shot("ticket_found")
        self.remote("出示 2 号学生的采集码")
        self.wait(lambda: self.has("后四位") or self.window().get("error") is not None, 15, "the code read")
        self.remote("收起二维码")
        self.keys("4567")
        self.wait(lambda: not self.window().get("busy"), 10, "the compare")
        self.shot("compare_mismatch")
        self.tap("是同一人，绑定")
        self.wait(lambda: self.has("已核实证件，仍要绑定"), 10, "the second confirmation")
        self.shot("override_asked")
        self.tap("已核实证件，仍要绑定")
        self.wait(lambda: not self.window().get("busy"), 10, "the bind")
        self.shot("bound")
        self.home()

    def path_camera(self) -> None:
        """The camera unplugged mid-session: banner, session kept, resumes when plugged back."""
        self.student_to_capture(3, "0018")
        self.remote("拔出摄像头")
        self.wait(lambda: self.window().get("error") == "flow.error.camera_lost", 20, "the camera banner")
        self.shot("camera_lost")
        self.remote("插回摄像头")
        self.wait(lambda: self.window().get("error") is None, 30, "the camera back")
        self.shot("camera_back")
        self.tap("取消，不采集了")
        self.wait_screen("welcome")
        # the call stays until staff come and acknowledge it
        self.operator()
        self.tap("已到场，关闭呼叫提示")
        self.wait(lambda: not self.window().get("staff_alert"), 10, "the call acknowledged")
        self.tap("退出菜单，回到首页")
        self.wait_screen("welcome")

    def path_still_there(self) -> None:
        """Idle on Review: 还在吗？ with its countdown, then 继续 brings Review back."""
        self.student_to_capture(3, "0018")
        self.wait_screen("review", timeout=40)
        self.remote("离开 / 回来")  # nobody in front of the camera any more
        self.wait_screen("still_there", timeout=120)
        self.shot("still_there")
        self.tap("继续", exact=True)
        self.wait_screen("review")
        self.shot("back_on_review")
        self.remote("离开 / 回来")
        self.tap("取消，不采集了")
        self.wait_screen("welcome")

    def path_second_station(self) -> None:
        """Student 1's code at the second station: the server's record is shown, no second capture."""
        self.home("second")  # idle since the start: it shows its attract screen, a touch brings Welcome
        for _ in range(3):  # a tap in the moment the screen changes is ignored by design: tap again
            self.tap("扫码拍照", "second")
            with contextlib.suppress(TourFailed):
                self.wait_screen("scan", "second", timeout=5)
                break
        self.wait_screen("scan", "second")
        self.remote("出示 1 号学生的采集码", "remote2")
        self.wait(lambda: self.window("second").get("screen") in ("status", "verify"), 30, "the code read")
        self.remote("收起二维码", "remote2")
        if self.window("second").get("screen") == "verify":
            raise TourFailed("second_station: student 1 has no record yet (run the happy path first)")
        self.wait_screen("status", "second")
        self.shot("status_found", name="second")
        self.shot("both", full=True)
        self.home("second")

    def path_headwear(self) -> None:
        """Staff allow religious or medical headwear for one capture; the capped person is photographed."""
        self.operator()
        self.tap("允许宗教/医疗头饰")
        self.wait(lambda: self.has("撤销头饰准许"), 10, "the leave granted")
        self.shot("leave_granted")
        self.tap("退出菜单，回到首页")
        self.wait_screen("welcome")
        self.remote("戴帽子的人")
        self.tap("扫码拍照")
        self.wait_screen("scan")
        self.remote("出示 3 号学生的采集码")
        self.wait(lambda: self.window().get("screen") in ("verify", "status"), 20, "the code read")
        self.remote("收起二维码")
        if self.window().get("screen") == "status":
            self.shot("already_captured")  # the student has a photo in review already: no second capture
            self.home()
            self.remote("戴帽子的人")
            return
        self.keys("0018")
        self.wait_screen("confirm")
        self.tap("是我")
        self.wait_screen("consent")
        self.tap("同意，开始拍照")
        self.wait_screen("fee")
        self.tap("我已知晓，继续")
        self.wait_screen("capture")
        self.shot("capture_with_leave")
        self.capture_to_done()
        self.shot("done")
        self.tap("完成", exact=True)
        self.wait_screen("welcome")
        self.remote("戴帽子的人")

    def path_pin_lock(self) -> None:
        """Five wrong PINs: a lock of a few minutes that grows with repeated failures."""
        self.tap("工作人员", exact=True)
        self.wait_screen("pin")
        for _ in range(5):
            self.keys("1234")
            self.wait(lambda: not self.window().get("busy"), 10, "the PIN check")
        self.shot("pin_locked")
        self.home()


def main(argv: list[str] | None = None) -> int:
    """Run the tour; 0 when every path reached its screens."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "artifacts" / "xvfb-tour")
    p.add_argument("--paths", default=",".join(PATHS), help=f"comma-separated, in order; of {', '.join(PATHS)}")
    p.add_argument("--display", default="", help="an X display already running (default: start Xvfb on :99)")
    p.add_argument("--size", default="1080x1920", help="the station window, WxH (1080x1920: the portrait screen)")
    args = p.parse_args(argv)
    tour = Tour(args.out.resolve(), args.display or ":99", args.size)
    failed: list[str] = []
    try:
        tour.start(own_display=not args.display)
        for name in args.paths.split(","):
            tour.path = name
            print(f"{name}: {getattr(Tour, 'path_' + name).__doc__.splitlines()[0]}", flush=True)
            try:
                getattr(tour, "path_" + name)()
            except (TourFailed, subprocess.CalledProcessError) as exc:
                print(f"  FAILED: {exc}", flush=True)
                tour.shot("failed")
                failed.append(name)
                with contextlib.suppress(TourFailed):
                    tour.home()
    finally:
        tour.stop()
    print(f"{len(tour.shots)} screenshots in {tour.out}; failed: {', '.join(failed) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
