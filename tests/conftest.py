"""Shared test set-up: offscreen Qt, the sync tests' fixtures, the server's database engines."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# the sync tests' fixtures (the ``store`` they upload from) live beside their fake servers; the
# server's tests run on SQLite and on a throw-away PostgreSQL cluster (``server_database_url``); the
# browser fixtures (headless Chromium) live in browser.py
pytest_plugins = ["test_sync_fakes", "conftest_pg", "browser"]
