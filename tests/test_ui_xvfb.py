"""The station's real window under Xvfb, tapped with xdotool: the short check of ``scripts/xvfb_tour.py``.

Skipped where Xvfb, xdotool or Pillow's X grab are missing. The whole tour
(every path, a few minutes) is ``scripts/xvfb_tour.py``; this drives the first
steps only: a tap on the real window, a code held up to the demo camera, the
keypad typed by taps, and a grab of the X screen.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tour_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("xvfb_tour", ROOT / "scripts" / "xvfb_tour.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _x_grab_works() -> bool:
    try:
        from PIL import features

        return bool(features.check("xcb"))
    except Exception:  # any failure means no X grab here
        return False


def _free_display() -> str:
    for n in range(90, 120):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return f":{n}"
    pytest.skip("no free X display number")


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool") and _x_grab_works()),
                    reason="needs Xvfb, xdotool and Pillow's X grab")
def test_a_student_taps_the_real_window_and_the_code_is_read(tmp_path: Path) -> None:
    xvfb_tour = _tour_module()
    tour = xvfb_tour.Tour(tmp_path, _free_display(), "1080x1920")  # the portrait touch screen
    tour.path = "smoke"
    try:
        tour.start(own_display=True)
        tour.wait_screen("welcome")
        tour.tap("扫码拍照")
        tour.wait_screen("scan")
        tour.remote("出示 1 号学生的采集码")
        tour.wait_screen("verify")
        tour.remote("收起二维码")
        tour.keys("123X")
        tour.wait_screen("confirm")
        shot = tour.shot("confirm")
    finally:
        tour.stop()
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1080, 1920)
        assert len(set(image.convert("L").resize((54, 96)).getdata())) > 8  # drawn, not a blank window


def test_the_widget_map_names_the_screen_and_where_each_button_is(qtbot, tmp_path: Path) -> None:
    import json

    from kiosk.ui.widget_map import WidgetMap
    from tests.test_ui_fakes import FakeStation
    from tests.test_ui_screens import Harness

    ui = Harness(qtbot, FakeStation())
    try:
        watcher = WidgetMap(tmp_path / "widgets.json")
        watcher.watch("station", ui.window, ui.session)
        watcher.write()
        station = json.loads((tmp_path / "widgets.json").read_text(encoding="utf-8"))["station"]
        assert station["screen"] == "welcome" and station["state"] == "Welcome" and not station["busy"]
        [start] = [c for c in station["controls"] if c["text"] == "扫码拍照"]
        centre = ui.window.screens["welcome"].start.mapToGlobal(ui.window.screens["welcome"].start.rect().center())
        assert start["enabled"] and start["x"] < centre.x() < start["x"] + start["w"]
        assert start["y"] < centre.y() < start["y"] + start["h"]
    finally:
        ui.session.stop()
