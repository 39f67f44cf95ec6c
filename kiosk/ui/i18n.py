"""The language on screen: Simplified Chinese first, English on a toggle.

Every text on screen is bound to a strings-table key, so switching language
re-renders all of them at once and no screen keeps its own copy of a string.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PyQt5.QtCore import QObject, pyqtSignal

from kiosk.text import LANGUAGES, table


class _Blanks(dict[str, Any]):
    """Placeholders the caller could not fill read as an ellipsis, never as ``{name}``."""

    def __missing__(self, key: str) -> str:
        return "…"


class Lang(QObject):
    """The current language and the texts bound to it."""

    changed = pyqtSignal(str)

    def __init__(self, lang: str = "zh") -> None:
        super().__init__()
        self.lang = lang if lang in LANGUAGES else "zh"
        self._bound: dict[int, tuple[Callable[[str], Any], str, dict[str, Any]]] = {}

    def t(self, key: str, **params: Any) -> str:
        """The string ``key`` in the current language (an unknown key shows as itself, a visible bug)."""
        entry = table().get(key)
        if entry is None:
            return key
        template = entry.get(self.lang)
        try:
            return template.format_map(_Blanks(params))
        except (IndexError, ValueError, AttributeError):
            return template

    def bind(self, owner: object, setter: Callable[[str], Any], key: str, **params: Any) -> None:
        """Show ``key`` through ``setter`` now and again after every language change.

        Binding the same ``owner`` again replaces its key and parameters, so a
        screen re-binds a label when what it shows changes.
        """
        self._bound[id(owner)] = (setter, key, params)
        setter(self.t(key, **params))

    def unbind(self, owner: object) -> None:
        """Stop re-rendering ``owner`` (its text becomes literal)."""
        self._bound.pop(id(owner), None)

    def key_of(self, owner: object) -> str | None:
        """The key ``owner`` is bound to, if any."""
        bound = self._bound.get(id(owner))
        return bound[1] if bound else None

    def set(self, lang: str) -> None:
        """Switch to ``lang`` and re-render every bound text."""
        if lang not in LANGUAGES or lang == self.lang:
            return
        self.lang = lang
        for setter, key, params in list(self._bound.values()):
            setter(self.t(key, **params))
        self.changed.emit(lang)

    def toggle(self) -> None:
        """Chinese <-> English."""
        self.set("en" if self.lang == "zh" else "zh")
