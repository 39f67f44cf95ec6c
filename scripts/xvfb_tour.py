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
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or loaded by path from the tests

from xvfb_station import ROOT, TourFailed, XStation

PATHS = ("happy", "welcome_code", "lockout", "no_code", "codeless", "desk", "bind_mismatch", "camera",
         "still_there", "second_station", "headwear", "pin_lock")


class Tour(XStation):
    """The paths of the tour: each one what a student or an operator does, with a screenshot per step."""

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
        self.confirm_to_capture()
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
