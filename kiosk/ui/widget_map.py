"""Where each button is on the X screen, for driving the windowed station from outside (``scripts/xvfb_tour.py``).

A person taps what they see; a script driving the real window under Xvfb
with ``xdotool`` needs to know where that is. ``WidgetMap`` writes, a few
times a second and only when it changed, a JSON file naming each watched
window's current screen and flow state and every visible button, text field
and keypad key with its text and its centre in screen pixels. Only the
windowed demo turns it on (``kiosk demo --widget-map FILE``); it holds no
personal data beyond what is on screen.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from PyQt5.QtCore import QObject, QTimer
from PyQt5.QtWidgets import QAbstractButton, QLabel, QLineEdit, QWidget


def describe(window: QWidget, session: Any = None) -> dict[str, Any]:
    """The window's geometry, screen, state and visible controls (buttons, fields, labels with text)."""
    controls: list[dict[str, Any]] = []
    for widget in window.findChildren(QWidget):
        if not widget.isVisible() or not isinstance(widget, QAbstractButton | QLineEdit | QLabel):
            continue
        if isinstance(widget, QLabel) and not widget.text():
            continue
        top_left = widget.mapToGlobal(widget.rect().topLeft())
        controls.append({
            "kind": type(widget).__name__,
            "text": widget.text(),
            "name": widget.objectName(),
            "enabled": widget.isEnabled(),
            "x": top_left.x(), "y": top_left.y(), "w": widget.width(), "h": widget.height(),
        })
    frame = window.frameGeometry()
    out: dict[str, Any] = {"x": frame.x(), "y": frame.y(), "w": frame.width(), "h": frame.height(),
                           "controls": controls}
    current = getattr(window, "current", None)
    if current is not None:
        out["screen"] = getattr(current, "name", "")
    if session is not None:
        state = session.state
        out["state"] = type(state).__name__
        out["busy"] = bool(state.busy)
        out["error"] = state.error
        out["staff_alert"] = state.ctx.staff_alert
    return out


class WidgetMap(QObject):
    """Writes the watched windows' controls to ``path`` whenever they change."""

    def __init__(self, path: Path, interval_ms: int = 150, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.windows: dict[str, tuple[QWidget, Any]] = {}
        self._last = ""
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.write)
        self._timer.start(interval_ms)

    def watch(self, name: str, window: QWidget, session: Any = None) -> None:
        """Describe ``window`` (and its session's state) under ``name``."""
        self.windows[name] = (window, session)

    def write(self) -> None:
        """Write the map if anything moved, appeared or changed text (atomically: readers never see half)."""
        text = json.dumps({name: describe(w, s) for name, (w, s) in self.windows.items() if w.isVisible()},
                          ensure_ascii=False, sort_keys=True)
        if text == self._last:
            return
        self._last = text
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.path)
