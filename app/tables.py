"""Pure functions between the H2O string table and a typed frame, and back.

The request is checked once, transposed once (`zip(*rows)`), and every input column is read by
one vectorised conversion where the column allows it; the per-cell path only runs to find and
name a bad cell, or for columns that hold missing tokens.
"""

from __future__ import annotations

import base64
import binascii
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import orjson
import pandas as pd

from app.errors import BadRequest, PayloadTooLarge
from runtimes.base import DataType, Field, Frame, ModelSchema
from runtimes.images import augment, readable_image

_SCALARS = frozenset({str, int, float, bool, type(None)})
_MEDIA_CELLS = _SCALARS | {bytes}
_TRUE = frozenset({"true", "True", "TRUE", "1", "yes", "Yes", "YES"})
_FALSE = frozenset({"false", "False", "FALSE", "0", "no", "No", "NO"})
_SAMPLE_VALUES = {DataType.BOOL: "true", DataType.STR: "text", DataType.TIME64: "2018-01-01"}


@dataclass(frozen=True)
class ReadOptions:
    """How cell texts are read; built once from the settings."""

    missing: frozenset[str]
    invalid_numbers_as_missing: bool = False

    @cached_property
    def numeric_fast_path(self) -> bool:
        """Numpy's parser may only be trusted when no missing token is itself a number."""
        return not any(_parses_as_number(token) for token in self.missing)


_FEW_VALUES = 32
"""Up to this many numbers `repr` is cheaper than orjson's numpy path plus its checks."""

GENERATED_ID = -1
"""Marker in an output plan for the generated UUID column."""


def check_table(fields: list[str], rows: Sequence[Sequence[Any]], schema: ModelSchema, max_rows: int) -> None:
    """Reject what API.md's error table names, in the order a client would want to fix it.
    `rows` is a list of lists, or the 2-D float array the body reader made of them."""
    if not fields:
        raise BadRequest("'fields' is empty; list the names of the columns in 'rows'.")
    if len(rows) == 0:
        raise BadRequest("'rows' is empty; send at least one row to score.")
    if len(rows) > max_rows:
        raise PayloadTooLarge(f"The request has {len(rows)} rows; at most {max_rows} are allowed per request.")
    seen: set[str] = set()
    duplicates = sorted({f for f in fields if f in seen or seen.add(f)})
    if duplicates:
        raise BadRequest(f"'fields' names {_names(duplicates)} more than once.")
    missing = [name for name in schema.input_names if name not in seen]
    if missing:
        raise BadRequest(f"'fields' lacks the model input field(s) {_names(missing)}.")
    width = len(fields)
    for index, row in enumerate(rows[:1] if isinstance(rows, np.ndarray) else rows):
        if len(row) != width:
            raise BadRequest(f"row {index} has {len(row)} values but 'fields' names {width}.")


def attach_media(
    fields: list[str],
    rows: list[list[Any]],
    media_fields: list[str],
    schema: ModelSchema,
    files: dict[str, bytes],
) -> list[list[Any]]:
    """Rows with each named file's bytes in place of its name (a missing cell stays missing)."""
    position = {name: i for i, name in enumerate(fields)}
    not_media = [name for name in media_fields if name not in schema.media_fields]
    if not_media:
        allowed = _names(schema.media_fields)
        raise BadRequest(f"'mediaFields' names {_names(not_media)}; this model's media fields are {allowed}.")
    absent = [name for name in media_fields if name not in position]
    if absent:
        raise BadRequest(f"'mediaFields' names {_names(absent)}, which is not in 'fields'.")
    indices = [position[name] for name in media_fields]
    attached = []
    for row_index, row in enumerate(rows):
        if len(row) != len(fields):
            attached.append(row)  # check_table names this row
            continue
        row = list(row)
        for index in indices:
            name = row[index]
            if name is None or name == "":
                row[index] = None
            elif (content := files.get(str(name))) is not None:
                row[index] = content
            else:
                raise BadRequest(
                    f"Field '{fields[index]}' in row {row_index} names the file {_quote(str(name))}, "
                    "which was not uploaded."
                )
        attached.append(row)
    return attached


def check_images(frame: Frame, media_fields: tuple[str, ...]) -> None:
    """For a model whose media are images: every cell must be present and decode."""
    for name in media_fields:
        for row, blob in enumerate(frame[name]):
            if blob is None:
                raise BadRequest(f"Media field '{name}' in row {row} is empty; this model needs an image.")
            if not readable_image(blob):
                raise BadRequest(f"Media field '{name}' in row {row} is not a readable image.")


def augmented_frame(frame: Frame, media_fields: tuple[str, ...], augmentation: str) -> Frame:
    columns = dict(frame.items())
    for name in media_fields:
        columns[name] = _objects([augment(blob, augmentation) for blob in frame[name]])
    return Frame(columns, frame.rows)


def output_plan(fields: list[str], include: list[str] | None, id_field: str | None) -> list[int]:
    """Which request columns to copy into each output row: indices into `fields`, then the generated id."""
    if not include:
        return []
    position = {name: i for i, name in enumerate(fields)}
    wanted = set(include)
    unknown = [name for name in include if name not in position and name != id_field]
    if unknown:
        raise BadRequest(
            f"'includeFieldsInOutput' names {_names(unknown)}, which is neither in 'fields' nor the 'idField'."
        )
    plan = [i for i, name in enumerate(fields) if name in wanted]
    if id_field is not None and id_field in wanted and id_field not in position:
        plan.append(GENERATED_ID)
    return plan


def planned_names(fields: list[str], plan: list[int], id_field: str | None) -> list[str]:
    return [fields[i] if i != GENERATED_ID else str(id_field) for i in plan]


def to_frame(
    fields: list[str],
    rows: Sequence[Sequence[Any]],
    schema: ModelSchema,
    options: ReadOptions,
) -> tuple[Frame, list[Sequence[Any]]]:
    """The model's typed input frame, and the transposed request columns for echoing. Rows the
    body reader already read into a float array (every input a number) become the frame as is."""
    position = {name: i for i, name in enumerate(fields)}
    if isinstance(rows, np.ndarray):
        table = rows
        columns_of = table.T
        data = {f.name: columns_of[position[f.name]] for f in schema.inputs}
        block = (tuple(fields), table) if tuple(fields) == schema.input_names else None
        return Frame(data, len(rows), block), list(columns_of)
    columns = list(zip(*rows, strict=True))
    media = set(schema.media_fields)
    data = {
        field.name: _read_column(field, columns[position[field.name]], options, field.name in media)
        for field in schema.inputs
    }
    return Frame(data, len(rows)), columns


def echo_column(column: Sequence[Any]) -> list[str]:
    """A request column as text, for `includeFieldsInOutput` (null → "")."""
    return ["" if v is None else v if type(v) is str else cell_text(v) for v in column]


def generated_ids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


def format_numbers(matrix: np.ndarray) -> list[list[str]]:
    """Each column as `repr` text (shortest round trip), `NaN` for a missing prediction. For
    more than a few values orjson writes the same digits 8x faster than `repr`, but it spells
    exponents its own way (`1e-7`, and `0.00001` where `repr` says `1e-05`), so values in those
    ranges are still written by `repr`."""
    values = np.asarray(matrix, dtype=np.float64)
    if values.size <= _FEW_VALUES:
        return [[_number_text(v) for v in column] for column in values.T.tolist()]
    columns = []
    for column in values.T:
        column = np.ascontiguousarray(column)
        texts = orjson.dumps(column, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].decode().split(",")
        magnitude = np.abs(column)
        restyle = ~np.isfinite(column) | (magnitude >= 1e16) | ((magnitude < 1e-4) & (column != 0))
        for row in np.flatnonzero(restyle).tolist():
            texts[row] = _number_text(float(column[row]))
        columns.append(texts)
    return columns


def _number_text(value: float) -> str:
    return repr(value) if math.isfinite(value) else _non_finite(repr(value))


def assemble_rows(columns: list[list[str]]) -> list[list[str]]:
    return [list(row) for row in zip(*columns, strict=True)]


def sample_request(schema: ModelSchema) -> dict[str, Any]:
    """The model's own input example when it ships one; else one row that scores: numbers "0",
    the first known level, the API's placeholder texts, and empty media cells (a template)."""
    if schema.example_row is not None:
        return {"fields": list(schema.input_names), "rows": [list(schema.example_row)]}
    media = set(schema.media_fields)
    return {
        "fields": list(schema.input_names),
        "rows": [[_sample_value(f, f.name in media) for f in schema.inputs]],
    }


def cell_text(value: Any) -> str:
    """The text a JSON value stands for: `true` for a boolean, the number as written for a number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number_text(value)
    return str(value)


def _read_column(field: Field, column: tuple[Any, ...], options: ReadOptions, is_media: bool) -> np.ndarray:
    kinds = set(map(type, column))
    allowed = _MEDIA_CELLS if is_media else _SCALARS
    if not kinds <= allowed:
        row = next(i for i, v in enumerate(column) if type(v) not in allowed)
        raise BadRequest(f"Field '{field.name}' in row {row} holds a JSON {_json_kind(column[row])}, not a value.")
    if field.data_type.is_numeric:
        return _read_numbers(field.name, column, kinds, options)
    if is_media:
        return _objects(_read_media(field.name, column, options))
    if field.data_type is DataType.BOOL:
        return _objects(_read_bools(field.name, column, options))
    if field.data_type is DataType.TIME64:
        return _read_times(field.name, column, options)
    return _objects(_read_texts(field, column, options))


def _objects(values: list[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _read_numbers(name: str, column: tuple[Any, ...], kinds: set[type], options: ReadOptions) -> np.ndarray:
    if bool not in kinds and options.numeric_fast_path:
        if type(None) not in kinds:
            try:
                return np.array(column, dtype=np.float64)
            except (ValueError, OverflowError):
                pass
        missing = options.missing
        try:  # missing tokens mapped first; numpy still parses the numbers
            return np.array([np.nan if v is None or v in missing else v for v in column], dtype=np.float64)
        except (ValueError, OverflowError):
            pass
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
            values[row] = float(text)
        except ValueError:
            if not options.invalid_numbers_as_missing:
                raise BadRequest(
                    f"Field '{name}' in row {row} has the value {_quote(text)}, which is not a number."
                ) from None
            values[row] = np.nan
    return values


def _read_texts(field: Field, column: tuple[Any, ...], options: ReadOptions) -> list[str | None]:
    missing = options.missing
    texts = [None if v is None else v if type(v) is str else cell_text(v) for v in column]
    if field.levels is not None:
        known = frozenset(field.levels)
        return [t if t in known else None for t in texts]
    return [None if t is None or t in missing else t for t in texts]


def _read_bools(name: str, column: tuple[Any, ...], options: ReadOptions) -> list[bool | None]:
    values: list[bool | None] = []
    for row, value in enumerate(column):
        text = None if value is None else cell_text(value)
        if text is None or text in options.missing:
            values.append(None)
        elif text in _TRUE or text in _FALSE:
            values.append(text in _TRUE)
        else:
            raise BadRequest(f"Field '{name}' in row {row} has the value {_quote(text)}, which is not true or false.")
    return values


def _read_times(name: str, column: tuple[Any, ...], options: ReadOptions) -> np.ndarray:
    texts = [None if v is None or cell_text(v) in options.missing else cell_text(v) for v in column]
    parsed = pd.to_datetime(pd.Series(texts, dtype=object), errors="coerce", format="mixed").to_numpy()
    bad = np.isnat(parsed) & np.array([t is not None for t in texts])
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise BadRequest(f"Field '{name}' in row {row} has the value {_quote(texts[row])}, which is not a date-time.")
    return parsed


def _read_media(name: str, column: tuple[Any, ...], options: ReadOptions) -> list[bytes | None]:
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
                raise BadRequest(f"Media field '{name}' in row {row} is not valid base64.") from None
    return values


def _sample_value(field: Field, is_media: bool) -> str:
    if is_media:
        return ""
    if field.data_type.is_numeric:
        return "0"
    if field.data_type is DataType.STR and field.levels:
        return field.levels[0]
    return _SAMPLE_VALUES[field.data_type]


def _parses_as_number(text: str) -> bool:
    try:
        return not math.isnan(float(text))
    except ValueError:
        return False


def _non_finite(text: str) -> str:
    return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(text, text)


def _json_kind(value: Any) -> str:
    return "object" if isinstance(value, dict) else "array" if isinstance(value, list) else type(value).__name__


def _quote(text: str | None, limit: int = 40) -> str:
    text = text or ""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _names(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)
