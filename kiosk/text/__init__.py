"""Every user-facing string, in one place: Simplified Chinese first, English second.

The strings live in TOML files beside this module, one file per area of the
station (``codes.toml``, ``portrait.toml`` ...), so that each area's wording can
be reviewed on its own; keys are unique across all files (a test checks it).
A key is a dotted name; each entry has ``zh`` and ``en`` and may use
``{name}`` placeholders filled by keyword arguments.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class Text:
    """One string in both languages."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        """The string in ``lang``; Chinese for anything unknown."""
        return self.en if lang == "en" else self.zh


def _flatten(prefix: str, table: dict[str, Any], out: dict[str, Text], source: str) -> None:
    if "zh" in table or "en" in table:
        if set(table) != {"zh", "en"}:
            raise ValueError(f"{source}: {prefix} must have exactly 'zh' and 'en'")
        if prefix in out:
            raise ValueError(f"{source}: duplicate string key {prefix}")
        out[prefix] = Text(zh=str(table["zh"]), en=str(table["en"]))
        return
    for key, value in table.items():
        if not isinstance(value, dict):
            raise ValueError(f"{source}: {prefix}.{key} is not a table with zh/en")
        _flatten(f"{prefix}.{key}" if prefix else key, value, out, source)


@cache
def table() -> dict[str, Text]:
    """All strings, loaded once from the package's TOML files."""
    out: dict[str, Text] = {}
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            _flatten("", tomllib.loads(entry.read_text("utf-8")), out, entry.name)
    return out


@dataclass(frozen=True)
class Key:
    """A placeholder's value that is itself a string of the table, said in the same language."""

    key: str

    def __str__(self) -> str:
        return self.key


def text(key: str, lang: str = "zh", **params: Any) -> str:
    """The string ``key`` in ``lang`` with ``params`` filled in.

    A ``Key`` among the params is translated too (a word such as "ahead" that
    differs by language). An unknown key yields the key itself, so a missing
    string shows up on screen as a visible bug instead of crashing the station.
    """
    entry = table().get(key)
    if entry is None:
        return key
    params = {name: text(v.key, lang) if isinstance(v, Key) else v for name, v in params.items()}
    template = entry.get(lang)
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


def bilingual(key: str, **params: Any) -> str:
    """``"中文 / English"`` for terminals and logs."""
    return f"{text(key, 'zh', **params)} / {text(key, 'en', **params)}"
