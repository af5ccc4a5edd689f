"""A model source's Avro record schemas: parsed by fastavro, and the bridge between them and the
server's tables.

Input cells arrive as text and are converted column by column to the types the schema allows: a
column of numbers in one vectorised step whose result needs no further check, any other cell by
itself and then validated by fastavro (a per-record fastavro validation costs ~16 µs for 24
fields, more than the budget for a whole row). Output records, a few fields each, are validated
by fastavro record by record.
A rejection names the field and why, for the caller to fix.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
import numpy as np
from fastavro.validation import validate

from scoring_runtime.core.errors import ModelLoadError
from scoring_runtime.core.numbers import read_number
from scoring_runtime.core.text import quote
from scoring_runtime.core.types import DataType, Field

DATA_TYPES = {
    "int": DataType.INT32,
    "long": DataType.INT64,
    "float": DataType.FLOAT32,
    "double": DataType.FLOAT64,
    "boolean": DataType.BOOL,
    "string": DataType.STR,
}
_BOUNDS = {"int": 2**31, "long": 2**63}
_TRUE = frozenset({"true", "True", "TRUE", "1"})
_FALSE = frozenset({"false", "False", "FALSE", "0"})


class Rejected(Exception):
    """A value the schema refuses; `row` in the batch, `field` named, `why` a sentence's end."""

    def __init__(self, row: int, field: str, why: str) -> None:
        super().__init__(f"field '{field}' {why}")
        self.row = row
        self.field = field
        self.why = why


@dataclass(frozen=True)
class AvroField:
    name: str
    types: tuple[str, ...]
    """The allowed non-null types, in the schema's order."""
    nullable: bool
    schema: Any
    """The field's type as declared."""
    column: Any
    """An Avro array of the field's type, parsed by fastavro: one validation call checks a
    whole column (~0.5 µs a value, where a record at a time costs ~8 µs a record)."""

    @property
    def field(self) -> Field:
        return Field(self.name, DATA_TYPES[self.types[0]])

    @property
    def spelled(self) -> str:
        return " or ".join(self.types) + (" or null" if self.nullable else "")


@dataclass(frozen=True)
class RecordSchema:
    path: Path
    fields: tuple[AvroField, ...]
    parsed: Any

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def read_schema(path: Path) -> RecordSchema:
    """A record schema of primitive fields (or unions of them with null), or one sentence why not."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelLoadError(f"{path.name} is not a readable JSON Avro schema ({exc}).") from exc
    try:
        parsed = fastavro.parse_schema(raw)
    except Exception as exc:  # fastavro's SchemaParseException and UnknownType carry the reason
        raise ModelLoadError(f"{path.name} is not a valid Avro schema ({type(exc).__name__}: {exc}).") from exc
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        raise ModelLoadError(f'{path.name} must hold an Avro record schema ({{"type": "record", "fields": [...]}}).')
    return RecordSchema(path, tuple(_field(path, item) for item in parsed["fields"]), parsed)


def _field(path: Path, item: dict[str, Any]) -> AvroField:
    declared = item["type"]
    members = declared if isinstance(declared, list) else [declared]
    names = [m if isinstance(m, str) else m.get("type") if isinstance(m, dict) else None for m in members]
    kept = tuple(n for n in names if n != "null")
    if not kept or any(
        n not in DATA_TYPES or (isinstance(m, dict) and "logicalType" in m)
        for n, m in zip(names, members, strict=True)
        if n != "null"
    ):
        raise ModelLoadError(
            f"{path.name}: the field '{item['name']}' has the type {json.dumps(declared)}; a table cell reads as "
            f'one of {", ".join(DATA_TYPES)}, or a union of them with "null".'
        )
    return AvroField(
        item["name"], kept, "null" in names, declared, fastavro.parse_schema({"type": "array", "items": declared})
    )


def convert_column(field: AvroField, texts: list[str | None]) -> list[Any]:
    """The column's cells as the values the schema allows (missing → None); `Rejected` names the
    first cell it refuses."""
    missing = None in texts
    if missing and not field.nullable:
        row = texts.index(None)
        raise Rejected(row, field.name, f"is missing, and its type {field.spelled} does not allow null")
    if len(field.types) == 1 and field.types[0] in ("double", "float", "int", "long"):
        converted = _numbers(field, texts, missing)
        if converted is not None:
            return converted
    return [None if text is None else _cell(field, row, text) for row, text in enumerate(texts)]


def _numbers(field: AvroField, texts: list[str | None], missing: bool) -> list[Any] | None:
    """The fast path for a column of one numeric type (Python's own parsers over the whole
    column); None sends it cell by cell, to name the bad cell or read `2.0` as an int."""
    present = [t for t in texts if t is not None] if missing else texts
    if not "".join(present).isascii():
        return None  # float() and int() read other scripts' digits; a schema's number is ASCII
    kind = field.types[0]
    try:
        numbers: list[Any] = list(map(int if kind in _BOUNDS else float, present))
    except ValueError:
        return None
    if kind in _BOUNDS:
        bound = _BOUNDS[kind]
        if numbers and (min(numbers) < -bound or max(numbers) >= bound):
            return None
    elif not all(map(math.isfinite, numbers)):
        return None
    if present is texts:
        return numbers
    filled = iter(numbers)
    return [None if t is None else next(filled) for t in texts]


def _cell(field: AvroField, row: int, text: str) -> Any:
    for kind in field.types:
        value = _as(kind, text)
        if value is not None and validate(value, kind, raise_errors=False):  # fastavro: an int's range
            return value
    raise Rejected(row, field.name, f"has the value {quote(text)}, which is not {_article(field.spelled)}")


def _as(kind: str, text: str) -> Any:
    if kind == "string":
        return text
    if kind == "boolean":
        return True if text in _TRUE else False if text in _FALSE else None
    try:
        number = read_number(text)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    if kind in _BOUNDS:
        try:
            return int(text)
        except ValueError:
            return int(number) if number.is_integer() else None
    return number


def _article(spelled: str) -> str:
    return ("an " if spelled[0] in "aeiou" else "a ") + spelled


def output_columns(schema: RecordSchema, records: list[dict[str, Any]]) -> list[list[Any]]:
    """The records' values as one column per output field, each column validated by fastavro;
    `Rejected` names the first record and field it refuses, and why."""
    columns = [[record.get(f.name) for record in records] for f in schema.fields]
    for field, column in zip(schema.fields, columns, strict=True):
        if not validate(column, field.column, raise_errors=False):
            for row, record in enumerate(records):
                check_output(schema, row, record)
    return columns


def check_output(schema: RecordSchema, row: int, record: dict[str, Any]) -> list[Any]:
    """One record's values in the output schema's order, validated by fastavro; `Rejected` says
    which field and why."""
    values = [_plain(record.get(f.name)) for f in schema.fields]
    if validate(dict(zip(schema.names, values, strict=True)), schema.parsed, raise_errors=False):
        return values
    for field, value in zip(schema.fields, values, strict=True):
        if field.name not in record and not field.nullable:
            raise Rejected(row, field.name, f"is missing, and its type {field.spelled} does not allow null")
        if not validate(value, field.schema, raise_errors=False):
            raise Rejected(row, field.name, f"is {value!r}, which is not {_article(field.spelled)}")
    raise Rejected(row, schema.names[0], "does not fit the output schema")


def _plain(value: Any) -> Any:
    """numpy scalars as the Python values fastavro and the writers expect."""
    return value.item() if isinstance(value, np.generic) else value
