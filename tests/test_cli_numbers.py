"""Every number option of every ``kiosk`` subcommand is range-checked by the parser."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.cli import build_parser, main
from kiosk.cli.numbers import FloatIn, IntIn

HOSTILE = ["99999999999999999999", "-99999999999999999999", "1" * 5000, "nan", "inf", "-inf", "1e400", "0x10",
           "", " ", "½"]


def parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (sub)parser of the ``kiosk`` command with the words that reach it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, (*path, name))


def number_options() -> list[tuple[tuple[str, ...], argparse.Action]]:
    out = []
    for path, parser in parsers(build_parser()):
        for action in parser._actions:
            if action.type in (int, float) or isinstance(action.type, IntIn | FloatIn):
                out.append((path, action))
    return out


def test_there_are_number_options_to_check() -> None:
    names = {a.option_strings[0] for _, a in number_options()}
    assert {"--limit", "--port", "--scale", "--camera-seconds"} <= names


@pytest.mark.parametrize(("path", "action"), number_options(), ids=lambda v: "-".join(v) if isinstance(v, tuple)
                         else getattr(v, "dest", str(v)))
def test_every_number_option_is_bounded(path: tuple[str, ...], action: argparse.Action) -> None:
    where = f"kiosk {' '.join(path)} {action.option_strings}"
    assert isinstance(action.type, IntIn | FloatIn), f"{where}: plain {action.type}"
    bounded = action.type
    for text in HOSTILE:
        with pytest.raises(argparse.ArgumentTypeError):
            bounded(text)
    with pytest.raises(argparse.ArgumentTypeError):
        bounded(str(bounded.high + 1))
    with pytest.raises(argparse.ArgumentTypeError):
        bounded(str(bounded.low - 1))
    assert bounded(str(bounded.low)) == bounded.low
    assert bounded(str(bounded.high)) == bounded.high
    if action.default is not None:
        assert bounded.low <= action.default <= bounded.high


@pytest.mark.parametrize("limit", ["99999999999999999999", "-1", "0", "nan"])
def test_records_list_with_a_huge_limit_is_refused_by_the_parser(limit: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[station]\ndata_dir = "{tmp_path / "data"}"\n')
    with pytest.raises(SystemExit) as info:
        main(["records", "list", "--config", str(cfg), "--limit", limit])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--limit" in err and "Traceback" not in err
    assert main(["records", "list", "--config", str(cfg), "--limit", "1000000"]) == 0
