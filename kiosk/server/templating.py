"""HTML pages of the server: one Jinja2 environment, autoescaped, with the strings table.

Every page is rendered from ``kiosk/server/templates/`` with ``render(name, lang, **context)``.
Templates reach user-facing text only through ``t("key", **params)`` (the page's language)
and ``t2("key", **params)`` (Chinese, then English), so the wording stays in ``kiosk/text``.
Autoescaping is on for every template: a value from a request or the database can
never become markup.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from kiosk.text import LANGUAGES, text


@cache
def environment() -> Environment:
    """The shared environment (templates are compiled once per process)."""
    return Environment(loader=PackageLoader("kiosk.server", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def page_language(requested: str | None) -> str:
    """The language of a page: ``requested`` when it is one of ours, else Chinese."""
    return requested if requested in LANGUAGES else "zh"


def render(name: str, lang: str, **context: Any) -> str:
    """The template ``name`` rendered in ``lang`` with ``context``."""
    lang = page_language(lang)

    def t(key: str, **params: Any) -> str:
        return text(key, lang, **params)

    def t2(key: str, **params: Any) -> str:
        return f"{text(key, 'zh', **params)} / {text(key, 'en', **params)}"

    return environment().get_template(name).render(lang=lang, t=t, t2=t2, **context)
