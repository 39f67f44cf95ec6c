"""An exception escaping a Qt slot is logged; the station keeps running."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import logging, sys
    from PyQt5.QtCore import QTimer
    from kiosk.ui.app import ensure_application, survive_handler_errors

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    app = ensure_application(headless=True)
    if sys.argv[1] == "hook":
        survive_handler_errors()

    def broken():
        raise ValueError("a bug in a screen handler")

    QTimer.singleShot(0, broken)
    QTimer.singleShot(300, lambda: (print("still running"), app.quit()))
    sys.exit(app.exec_())
    """
)


def _run(mode: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, env=env,
                          timeout=60, check=False)


def test_a_slot_error_is_logged_and_the_station_keeps_running() -> None:
    done = _run("hook")
    assert done.returncode == 0, done.stderr
    assert "still running" in done.stdout
    assert "ui.unhandled error=ValueError" in done.stderr


def test_without_the_hook_pyqt_would_end_the_process() -> None:
    # the reason the hook exists: PyQt5 aborts on an unhandled exception in a slot
    done = _run("none")
    assert done.returncode != 0
    assert "still running" not in done.stdout
