"""Cell values as text: how a JSON number or boolean reads, and how a float is written.

One spelling everywhere: requests read `true` and `1.5` the same whether they arrived as JSON
values or strings, and every protocol writes numbers in the shortest form that reads back to the
same float64.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson

_FEW_VALUES = 32
"""Up to this many numbers `repr` is cheaper than orjson's numpy path plus its checks."""
_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def number_text(value: float) -> str:
    """`repr` (shortest round trip); `NaN`, `Infinity`, `-Infinity` for the rest."""
    text = repr(value)
    return text if math.isfinite(value) else _NON_FINITE.get(text, text)


def cell_text(value: Any) -> str:
    """The text a JSON value stands for: `true` for a boolean, the number as written for a number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return number_text(value)
    return str(value)


def quote(text: str | None, limit: int = 40) -> str:
    """A cell's text for an error sentence, cut at `limit` characters."""
    text = text or ""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def names(items: tuple[str, ...] | list[str]) -> str:
    """Field names for an error sentence: `'a', 'b'`."""
    return ", ".join(repr(n) for n in items)


def number_columns(matrix: np.ndarray) -> list[list[str]]:
    """Each column of a matrix as `number_text`. For more than a few values orjson writes the
    same digits 8x faster than `repr`, but below 1e-4 it spells them its own way (`1e-7` where
    `repr` says `1e-07`, `0.00001` for `1e-05`): those are respelt from orjson's digits, as
    `repr` itself costs 0.6 µs a number and a probability matrix can have hundreds of them."""
    values = np.asarray(matrix, dtype=np.float64)
    if values.size <= _FEW_VALUES:
        return [[number_text(v) for v in column] for column in values.T.tolist()]
    columns = []
    for column in values.T:
        column = np.ascontiguousarray(column)
        texts = orjson.dumps(column, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].decode().split(",")
        finite = np.isfinite(column)
        for row in np.flatnonzero(finite & (np.abs(column) < 1e-4) & (column != 0)).tolist():
            texts[row] = _repr_spelling(texts[row])
        for row in np.flatnonzero(~finite).tolist():  # orjson writes null
            texts[row] = number_text(float(column[row]))
        columns.append(texts)
    return columns


def _repr_spelling(small: str) -> str:
    """`repr`'s text of a number below 1e-4 from orjson's: the same digits, the exponent in two
    digits at least, and `1.5e-05` for orjson's `0.000015`."""
    if small[-2] == "-":  # 1e-7
        return small[:-1] + "0" + small[-1]
    sign, decimal, digits = small.partition("0.0000")
    if not decimal:  # 1e-10 and below: spelt alike
        return small
    mantissa = f"{digits[0]}.{digits[1:]}" if len(digits) > 1 else digits
    return f"{sign}{mantissa}e-05"


def value_columns(matrix: np.ndarray) -> list[list[str]]:
    """Each column of a result as text: a float matrix by `number_columns`; an object matrix
    (a model that answers with text or booleans too) cell by cell, missing as ""."""
    if matrix.dtype != object:
        return number_columns(matrix)
    return [["" if v is None else cell_text(v) for v in column] for column in matrix.T.tolist()]
