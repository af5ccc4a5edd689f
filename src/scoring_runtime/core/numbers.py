"""The one grammar a number's text follows, wherever a cell is read as a number.

    number   = [sign] (digits ["." digits*] | "." digits) [("e" | "E") [sign] digits]
    infinity = [sign] "Infinity"
    sign     = "+" | "-";   digits = ASCII "0"-"9"

Nothing else is a number: no spaces, no `_` separators, no `inf`, no hexadecimal, no digits of
other scripts (Python's `float` and numpy take all of those: `float("١٢")` is 12). A number past
the float64 range (`1e999`) is refused rather than read as infinity; `Infinity` is the one way to
say infinity (as Java's `Double.toString` and JavaScript write it). `NaN` is not a number here:
it is one of the configured missing-value tokens, as `NA` is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Infinity"
_ONE = re.compile(_NUMBER)
_EACH = re.compile(f"(?:(?:{_NUMBER})\x00)*")


class OutOfRange(ValueError):
    """The text is a number, but past what a float64 holds."""


def read_number(text: str) -> float:
    """The float a text in the grammar denotes; ValueError (OutOfRange past float64) otherwise."""
    if _ONE.fullmatch(text) is None:
        raise ValueError(text)
    value = float(text)
    if math.isinf(value) and not text.endswith("Infinity"):
        raise OutOfRange(text)
    return value


def all_in_grammar(texts: Sequence[str]) -> bool:
    """Whether every text is in the grammar, in one regular-expression pass over them all (a
    call per cell would cost more than numpy's parsing of the column). Range is checked apart."""
    return _EACH.fullmatch("\x00".join(texts) + "\x00") is not None if texts else True


def is_number(text: str) -> bool:
    try:
        read_number(text)
    except ValueError:
        return False
    return True
