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
_PLAIN = re.compile("[0-9eE.+\\-\x00]*")


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


def parsed_in_grammar(texts: Sequence[str]) -> bool:
    """Whether texts that Python's `float` (or numpy) has already parsed are all in the grammar,
    in one pass over them joined (a call per cell would cost more than numpy's parsing of the
    column). `float`'s own grammar without spaces, `_` and letters but `e`/`E` is this one, so
    when the join holds no other character the parse has settled it, at a tenth of the cost of
    the full pattern; anything else (`Infinity`, a space) takes the full pattern. Range is checked apart."""
    if not texts:
        return True
    joined = "\x00".join(texts)
    return _PLAIN.fullmatch(joined) is not None or _EACH.fullmatch(joined + "\x00") is not None


def is_number(text: str) -> bool:
    try:
        read_number(text)
    except ValueError:
        return False
    return True
