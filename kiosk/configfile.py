"""Settings files read and written from a schema of frozen dataclasses.

The schema itself (which sections and options exist) is ``kiosk.config``;
this module knows only the form: a field made with ``opt`` carries its help
text, choices and range, ``parse``/``load`` turn TOML into the dataclass and
refuse anything else with a ``ConfigError`` naming file, key and expected
form, and ``render_toml`` writes the commented default file.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import field
from pathlib import Path
from typing import Any, TypeVar

from kiosk.errors import KioskError
from kiosk.userfiles import FileTooLarge, NotRegularFile, read_input_text

#: a config file is a few KB; this bounds what a wrong path (a disk image) makes us read
MAX_CONFIG_BYTES = 1_000_000


class ConfigError(KioskError):
    """A config file that cannot be used; the message names file, key and form."""

    default_key = "error.config"


def opt(default: Any, help: str, *, choices: tuple[Any, ...] = (), lo: float | None = None,
        hi: float | None = None, factory: Any = None) -> Any:
    """A schema field: its default, its help text and its allowed values."""
    meta = {"help": help, "choices": choices, "lo": lo, "hi": hi}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


C = TypeVar("C")


def _expected(tp: Any, meta: typing.Mapping[str, Any]) -> str:
    if meta.get("choices"):
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
             Path: "a path (string)"}
    base = names.get(tp, "a list of strings" if typing.get_origin(tp) is list else str(tp))
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and hi is not None:
        base += f" from {lo:g} to {hi:g}"
    return base


def _convert(value: Any, tp: Any, meta: typing.Mapping[str, Any]) -> Any:
    """The value as ``tp``, or ``ValueError`` when it is not of that form."""
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError
        out: Any = value
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError
        out = value
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError
        out = float(value)
    elif tp is str:
        if not isinstance(value, str):
            raise ValueError
        out = value
    elif tp is Path:
        if not isinstance(value, str) or not value:
            raise ValueError
        out = Path(value).expanduser()
    elif typing.get_origin(tp) is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError
        out = list(value)
    else:  # pragma: no cover - a schema bug, not a user error
        raise TypeError(f"unsupported schema type {tp}")
    choices = meta.get("choices")
    if choices and out not in choices:
        raise ValueError
    lo, hi = meta.get("lo"), meta.get("hi")
    if (lo is not None and out < lo) or (hi is not None and out > hi):
        raise ValueError
    return out


def _build(cls: type[C], data: dict[str, Any], file: str, prefix: str) -> C:
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in data:
        if key not in known:
            raise ConfigError("error.config_unknown_key", f"{file}: {prefix}{key}", file=file,
                              setting=prefix + key)
    kwargs: dict[str, Any] = {}
    for name, f in known.items():
        if name not in data:
            continue
        tp, value, dotted = hints[name], data[name], prefix + name
        if dataclasses.is_dataclass(tp):
            if not isinstance(value, dict):
                raise ConfigError(detail=f"{file}: {dotted}", file=file, setting=dotted, expected="a table")
            kwargs[name] = _build(typing.cast(type, tp), value, file, dotted + ".")
            continue
        if isinstance(tp, types.UnionType):  # pragma: no cover - schema uses plain types
            raise TypeError(f"unsupported schema type {tp}")
        try:
            kwargs[name] = _convert(value, tp, f.metadata)
        except ValueError:
            expected = _expected(tp, f.metadata)
            raise ConfigError(detail=f"{file}: {dotted}={value!r}", file=file, setting=dotted,
                              expected=expected) from None
    built = cls(**kwargs)
    # a section may also check values that only make sense together (a band's two ends)
    for key, expected in getattr(built, "problems", list)():
        raise ConfigError(detail=f"{file}: {prefix}{key}", file=file, setting=prefix + key, expected=expected)
    return built


def parse(cls: type[C], text: str, file: str = "<config>") -> C:
    """Settings of type ``cls`` from TOML ``text``; ``file`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("error.config_unreadable", f"{file}: {exc}", file=file, reason=str(exc)) from None
    return _build(cls, data, file, "")


def load(cls: type[C], path: Path | str | None) -> C:
    """Settings of type ``cls`` from the file at ``path``; defaults when ``path`` is None."""
    if path is None:
        return cls()
    try:
        raw = read_input_text(path, MAX_CONFIG_BYTES)
    except (NotRegularFile, FileTooLarge) as exc:  # a FIFO would block, a device would be read for ever
        raise ConfigError(exc.key, exc.detail, **exc.params) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError("error.config_unreadable", f"{path}: {exc}", file=str(path),
                          reason=reason) from None
    return parse(cls, raw, str(path))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def render_toml(cls: type, title: str) -> str:
    """The commented default file for ``cls``: every option, its help and its default."""
    lines = [f"# {title}", "# Every option is shown with its default; delete what you do not change.", ""]
    root = cls()
    for section in dataclasses.fields(cls):
        value = getattr(root, section.name)
        lines.append(f"# {(type(value).__doc__ or '').strip()}")
        lines.append(f"[{section.name}]")
        hints = typing.get_type_hints(type(value))
        for f in dataclasses.fields(value):
            meta = f.metadata
            lines.append(f"# {meta['help']} ({_expected(hints[f.name], meta)})")
            lines.append(f"{f.name} = {_toml_value(getattr(value, f.name))}")
        lines.append("")
    return "\n".join(lines)
