"""The typed column reader: request cells (text, JSON scalars, bytes) into the model's frame.

Every protocol and the batch reader hand columns of cells here, so a cell reads the same however
it arrived. Each column is read by one vectorised conversion where the column allows it; the
per-cell path only runs to find and name a bad cell, or for columns that hold missing tokens.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from scoring_runtime.core.errors import BadCell
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.numbers import OutOfRange, is_number, parsed_in_grammar, read_number
from scoring_runtime.core.text import cell_text, quote
from scoring_runtime.core.types import DataType, Field, ModelSchema

_SCALARS = frozenset({str, int, float, bool, type(None)})
_MEDIA_CELLS = _SCALARS | {bytes}
_TRUE = frozenset({"true", "True", "TRUE", "1", "yes", "Yes", "YES"})
_FALSE = frozenset({"false", "False", "FALSE", "0", "no", "No", "NO"})


@dataclass(frozen=True)
class ReadOptions:
    """How cell texts are read; built once per model from its settings."""

    missing: frozenset[str]
    invalid_numbers_as_missing: bool = False

    @cached_property
    def numeric_fast_path(self) -> bool:
        """Numpy's parser may only be trusted when no missing token is itself a number."""
        return not any(is_number(token) for token in self.missing)


def read_frame(columns: Mapping[str, Sequence[Any]], rows: int, schema: ModelSchema, options: ReadOptions) -> Frame:
    """The model's typed input frame from one sequence of cells per field of the request (the
    caller has checked that the model's inputs are among them)."""
    media = set(schema.media_fields)
    data = {
        field.name: read_column(field, columns[field.name], options, field.name in media)
        for field in fields_to_read(schema, columns)
    }
    return Frame(data, rows)


def fields_to_read(schema: ModelSchema, request_fields: Iterable[str]) -> tuple[Field, ...]:
    """The fields a model's frame holds, typed as it reads them: a free-form model gets text,
    and every field of the request when it declares none."""
    if not schema.free_form:
        return schema.inputs
    declared = schema.inputs or tuple(Field(name, DataType.STR) for name in request_fields)
    return tuple(Field(f.name, DataType.STR) for f in declared)


def read_column(field: Field, column: Sequence[Any], options: ReadOptions, is_media: bool = False) -> np.ndarray:
    kinds = set(map(type, column))
    allowed = _MEDIA_CELLS if is_media else _SCALARS
    if not kinds <= allowed:
        row = next(i for i, v in enumerate(column) if type(v) not in allowed)
        raise BadCell(row, f"Field '{field.name}' in row ", f" holds a JSON {_json_kind(column[row])}, not a value.")
    if field.data_type.is_numeric:
        return _read_numbers(field.name, column, kinds, options)
    if is_media:
        return objects(_read_media(field.name, column, options))
    if field.data_type is DataType.BOOL:
        return objects(_read_bools(field.name, column, options))
    if field.data_type is DataType.TIME64:
        return _read_times(field.name, column, options)
    return objects(_read_texts(field, column, options))


def objects(values: list[Any]) -> np.ndarray:
    """A 1-D object array holding exactly these values (numpy would nest lists and bytes)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _read_numbers(name: str, column: Sequence[Any], kinds: set[type], options: ReadOptions) -> np.ndarray:
    if bool not in kinds and options.numeric_fast_path:
        missing = options.missing
        if type(None) not in kinds and missing.isdisjoint(column):
            cells, all_text = column, kinds == {str}
        else:  # missing tokens mapped first; numpy still parses the numbers
            cells, all_text = [np.nan if v is None or v in missing else v for v in column], False
        if (values := _vectorised(cells, all_text)) is not None:
            return values
    values = np.empty(len(column), dtype=np.float64)
    for row, value in enumerate(column):
        if value is None:
            values[row] = np.nan
            continue
        if type(value) is float:
            values[row] = value
            continue
        text = value if type(value) is str else cell_text(value)
        if text in options.missing:
            values[row] = np.nan
            continue
        try:
            values[row] = read_number(text)
        except OutOfRange:
            raise BadCell(
                row, f"Field '{name}' in row ", f" has the value {quote(text)}, which is outside the float64 range."
            ) from None
        except ValueError:
            if not options.invalid_numbers_as_missing:
                raise BadCell(
                    row, f"Field '{name}' in row ", f" has the value {quote(text)}, which is not a number."
                ) from None
            values[row] = np.nan
    return values


def _vectorised(cells: Sequence[Any], all_text: bool) -> np.ndarray | None:
    """numpy's parse of a whole column, kept only when each of its texts is in the number grammar
    and no infinity came from anything but `Infinity` (numpy reads `inf`, `1_0`, `١٢` and `1e999`);
    else None, and the per-cell path reads the column and names its bad cell."""
    try:
        values = np.array(cells, dtype=np.float64)
    except (ValueError, OverflowError):
        return None
    texts = cells if all_text else [v for v in cells if type(v) is str]
    if not parsed_in_grammar(texts) or _has_infinity(values):
        return None
    return values


def _has_infinity(values: np.ndarray) -> bool:
    """numpy's reduction costs 3.4 µs whatever the size; a one-row column is checked four times faster in Python."""
    return bool(np.isinf(values).any()) if len(values) > 16 else any(map(math.isinf, values.tolist()))


def _read_texts(field: Field, column: Sequence[Any], options: ReadOptions) -> list[str | None]:
    missing = options.missing
    texts = [None if v is None else v if type(v) is str else cell_text(v) for v in column]
    if field.levels is not None:
        known = field.level_set
        return [t if t in known else None for t in texts]
    return [None if t is None or t in missing else t for t in texts]


def _read_bools(name: str, column: Sequence[Any], options: ReadOptions) -> list[bool | None]:
    values: list[bool | None] = []
    for row, value in enumerate(column):
        text = None if value is None else cell_text(value)
        if text is None or text in options.missing:
            values.append(None)
        elif text in _TRUE or text in _FALSE:
            values.append(text in _TRUE)
        else:
            raise BadCell(row, f"Field '{name}' in row ", f" has the value {quote(text)}, which is not true or false.")
    return values


def _read_times(name: str, column: Sequence[Any], options: ReadOptions) -> np.ndarray:
    texts = [None if v is None or cell_text(v) in options.missing else cell_text(v) for v in column]
    parsed = pd.to_datetime(pd.Series(texts, dtype=object), errors="coerce", format="mixed").to_numpy()
    bad = np.isnat(parsed) & np.array([t is not None for t in texts])
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise BadCell(row, f"Field '{name}' in row ", f" has the value {quote(texts[row])}, which is not a date-time.")
    return parsed


def _read_media(name: str, column: Sequence[Any], options: ReadOptions) -> list[bytes | None]:
    """Media cells arrive as bytes (multipart uploads) or base64 text (JSON requests)."""
    values: list[bytes | None] = []
    for row, value in enumerate(column):
        if isinstance(value, bytes) or value is None:
            values.append(value)
        elif cell_text(value) in options.missing:
            values.append(None)
        else:
            try:
                values.append(base64.b64decode(cell_text(value), validate=True))
            except (binascii.Error, ValueError):
                raise BadCell(row, f"Media field '{name}' in row ", " is not valid base64.") from None
    return values


def _json_kind(value: Any) -> str:
    return "object" if isinstance(value, dict) else "array" if isinstance(value, list) else type(value).__name__
