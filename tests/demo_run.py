"""One headless demo run per test session, shared by the tests that read what it printed, logged and saved.

The demo is the suite's slowest step (a minute of real screens, sync and pages);
``tests/test_demo.py`` checks its screens and output, ``tests/test_log.py`` greps its
debug log for personal data. Both read the same run instead of each starting one.
Under pytest-xdist both files are one unit of work (``UNITS`` in ``conftest.py``), so the
run happens once on one worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class DemoRun:
    """What ``kiosk demo`` did with no display: its exit, output, screenshots folder and debug log."""

    done: subprocess.CompletedProcess[str]
    out: Path
    log_file: Path


@pytest.fixture(scope="session")
def headless_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """Run ``python -m kiosk demo`` once, as on a machine without a display (no ``--headless``: it must
    find that out itself), logging at debug level to a file."""
    root = tmp_path_factory.mktemp("demo")
    out, log_file = root / "shots", root / "demo.log"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(KIOSK_LOG_FILE=str(log_file), KIOSK_LOG_LEVEL="DEBUG", QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-m", "kiosk", "demo", "--out", str(out)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    return DemoRun(done, out, log_file)
