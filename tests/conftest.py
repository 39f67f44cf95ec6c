"""Shared test set-up: offscreen Qt, and a station config rooted in a temp dir."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
