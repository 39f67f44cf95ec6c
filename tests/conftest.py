"""Shared test set-up: offscreen Qt, the sync tests' fixtures, the server's database engines, and how
pytest-xdist shares the files out among its workers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# the sync tests' fixtures (the ``store`` they upload from) live beside their fake servers; the
# server's tests run on SQLite and on a throw-away PostgreSQL cluster (``server_database_url``); the
# browser fixtures (headless Chromium) live in browser.py; the one headless demo run in demo_run.py
pytest_plugins = ["test_sync_fakes", "conftest_pg", "browser", "demo_run"]

#: test files that share a session fixture too costly to make twice, run by one worker as one unit
UNITS = {"test_demo.py": "demo run", "test_log.py": "demo run"}


def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to under pytest-xdist: its file, or the files it shares a unit with."""
    path = nodeid.split("::", 1)[0]
    return UNITS.get(Path(path).name, path)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Units with slow tests first (the most first), the rest as collected: a worker that starts the
    demo run last would leave the other one idle for a minute at the end."""
    slow: dict[str, int] = {}
    for item in items:
        slow[unit_of(item.nodeid)] = slow.get(unit_of(item.nodeid), 0) + (item.get_closest_marker("slow") is not None)
    first_seen = {unit: i for i, unit in reversed(list(enumerate(unit_of(item.nodeid) for item in items)))}
    items.sort(key=lambda item: (-slow[unit_of(item.nodeid)], first_seen[unit_of(item.nodeid)]))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Each test file one unit of work for one worker (module-scoped browsers, scenes and servers are made
    once), the files in ``UNITS`` one unit together, handed out in collection order (slow units first)."""
    from xdist.scheduler import LoadScopeScheduling

    class FileUnits(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

    config.option.loadscopereorder = False
    return FileUnits(config, log)
