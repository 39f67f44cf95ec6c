"""Shared test set-up: offscreen Qt, and the sync tests' fixtures."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# the sync tests' fixtures (the ``store`` they upload from) live beside their fake servers; the
# browser fixtures (headless Chromium) in browser.py
pytest_plugins = ["test_sync_fakes", "browser"]
