"""Range-checked number arguments for every ``kiosk`` subcommand.

argparse's plain ``type=int`` takes any integer, and a number Python holds but
SQLite, a socket or an image library cannot (``--limit 99999999999999999999``)
ends deep inside the command in a traceback. Every number option of the
``kiosk`` command uses ``int_in`` or ``float_in`` instead, so a number out of
range is refused by the parser, exit status 2, with the option's range in the
message (a test walks every subcommand to keep it so).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

#: longer than any number in range: int() of a huge digit string is slow, and of a very long one raises
_MAX_DIGITS = 24


@dataclass(frozen=True)
class IntIn:
    """An argparse type: a whole number from ``low`` to ``high`` (inclusive)."""

    low: int
    high: int

    def __call__(self, text: str) -> int:
        """The number in ``text``, or ``ArgumentTypeError`` saying what is wrong."""
        shown = text[:40]
        try:
            value = int(text) if len(text.strip()) <= _MAX_DIGITS else None
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {shown}") from None
        if value is None or not self.low <= value <= self.high:
            raise argparse.ArgumentTypeError(f"{shown} is not between {self.low} and {self.high}")
        return value


@dataclass(frozen=True)
class FloatIn:
    """An argparse type: a finite number from ``low`` to ``high`` (inclusive); "nan" and "inf" are refused."""

    low: float
    high: float

    def __call__(self, text: str) -> float:
        """The number in ``text``, or ``ArgumentTypeError`` saying what is wrong."""
        shown = text[:40]
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {shown}") from None
        if not math.isfinite(value) or not self.low <= value <= self.high:
            raise argparse.ArgumentTypeError(f"{shown} is not between {self.low:g} and {self.high:g}")
        return value


def int_in(low: int, high: int) -> IntIn:
    """A whole-number argument type limited to ``low``..``high``."""
    return IntIn(low, high)


def float_in(low: float, high: float) -> FloatIn:
    """A number argument type limited to ``low``..``high``."""
    return FloatIn(low, high)
