"""The H2O API's checks on a request's table, and what its answer copies from it.

API.md's error table, in the order a client would want to fix things: empty fields or rows, too
many rows, duplicate or missing fields, a row of the wrong length; then what `mediaFields` and
`includeFieldsInOutput` name.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from scoring_runtime.core.errors import InvalidInput, TooLarge
from scoring_runtime.core.text import cell_text, names, quote
from scoring_runtime.core.types import ModelSchema
from scoring_runtime.protocols.h2o.rows import CellRows, Columns, RowTable

GENERATED_ID = -1
"""Marker in an output plan for the generated UUID column."""


def check_table(fields: list[str], rows: RowTable, schema: ModelSchema, max_rows: int) -> None:
    if not fields:
        raise InvalidInput("'fields' is empty; list the names of the columns in 'rows'.")
    if len(rows) == 0:
        raise InvalidInput("'rows' is empty; send at least one row to score.")
    if len(rows) > max_rows:
        raise TooLarge(f"The request has {len(rows)} rows; at most {max_rows} are allowed per request.")
    if tuple(fields) != schema.input_names:  # else exactly the inputs, which are distinct
        _check_names(fields, schema)
    rows.check_width(len(fields))


def _check_names(fields: list[str], schema: ModelSchema) -> None:
    seen: set[str] = set()
    duplicates = sorted({f for f in fields if f in seen or seen.add(f)})
    if duplicates:
        raise InvalidInput(f"'fields' names {names(duplicates)} more than once.")
    missing = [name for name in schema.input_names if name not in seen]
    if missing:
        raise InvalidInput(f"'fields' lacks the model input field(s) {names(missing)}.")


def attach_media(
    fields: list[str], rows: CellRows, media_fields: list[str], schema: ModelSchema, files: dict[str, bytes]
) -> CellRows:
    """Rows with each named file's bytes in place of its name (a missing cell stays missing)."""
    position = {name: i for i, name in enumerate(fields)}
    not_media = [name for name in media_fields if name not in schema.media_fields]
    if not_media:
        allowed = names(schema.media_fields)
        raise InvalidInput(f"'mediaFields' names {names(not_media)}; this model's media fields are {allowed}.")
    absent = [name for name in media_fields if name not in position]
    if absent:
        raise InvalidInput(f"'mediaFields' names {names(absent)}, which is not in 'fields'.")
    indices = [position[name] for name in media_fields]
    attached = []
    for row_index, row in enumerate(rows.values):
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
                raise InvalidInput(
                    f"Field '{fields[index]}' in row {row_index} names the file {quote(str(name))}, "
                    "which was not uploaded."
                )
        attached.append(row)
    return CellRows(attached)


def output_plan(fields: list[str], include: list[str] | None, id_field: str | None) -> list[int]:
    """Which request columns to copy into each output row: indices into `fields`, then the generated id."""
    if not include:
        return []
    position = {name: i for i, name in enumerate(fields)}
    wanted = set(include)
    unknown = [name for name in include if name not in position and name != id_field]
    if unknown:
        raise InvalidInput(
            f"'includeFieldsInOutput' names {names(unknown)}, which is neither in 'fields' nor the 'idField'."
        )
    plan = [i for i, name in enumerate(fields) if name in wanted]
    if id_field is not None and id_field in wanted and id_field not in position:
        plan.append(GENERATED_ID)
    return plan


def planned_names(fields: list[str], plan: list[int], id_field: str | None) -> list[str]:
    return [fields[i] if i != GENERATED_ID else str(id_field) for i in plan]


def planned_columns(plan: list[int], columns: Columns, rows: int) -> list[list[str]]:
    """The copied columns as text (null → ""), and a UUID4 per row for the generated id."""
    return [[str(uuid.uuid4()) for _ in range(rows)] if i == GENERATED_ID else _echo(columns[i]) for i in plan]


def _echo(column: Sequence[Any]) -> list[str]:
    return ["" if v is None else v if type(v) is str else cell_text(v) for v in column]
