"""The base of every error a person may see.

Each error names a key in the strings table (``kiosk/text``) so that the
screen, the command line and the log all say the same thing, in Simplified
Chinese first and English second. ``detail`` is for the operator's log only
and must never carry personal data.
"""

from __future__ import annotations

from typing import Any


class KioskError(Exception):
    """An error with a message for the person in front of the station."""

    #: strings-table key used when the raiser does not give one
    default_key = "error.unexpected"

    def __init__(self, key: str | None = None, detail: str = "", **params: Any) -> None:
        self.key = key or self.default_key
        self.detail = detail
        self.params = params
        super().__init__(f"{self.key}: {detail}" if detail else self.key)

    def message(self, lang: str = "zh") -> str:
        """The message for a person, in ``lang`` ("zh" or "en")."""
        from kiosk.text import text

        return text(self.key, lang, **self.params)

    def bilingual(self) -> str:
        """Both languages on one line, Chinese first, for terminals and logs."""
        from kiosk.text import bilingual

        return bilingual(self.key, **self.params)
