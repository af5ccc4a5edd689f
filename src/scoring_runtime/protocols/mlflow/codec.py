"""MLflow's request forms into the model's frame, and its answer: `dataframe_split`,
`dataframe_records`, `instances`, `inputs` (JSON) and CSV, as `mlflow models serve` reads them.

An MLflow model is answered by MLflow's own scoring code on its own pyfunc (`framework_answer`),
so the answer is exactly `mlflow models serve`'s; any other model is read into its frame here and
answers `{"predictions": [...]}`, one record per row keyed by its output field names.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import orjson

from scoring_runtime.core.columns import fields_to_read, read_frame
from scoring_runtime.core.errors import InvalidInput, TooLarge, UnsupportedContent
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.model import Job, Scored, ServedModel
from scoring_runtime.core.samples import sample_row
from scoring_runtime.core.text import names

_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
Columns = dict[str, list[Any]]


def read_table(body: bytes, content_type: str) -> tuple[Columns, int]:
    """The request as columns of cells, and its row count."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "text/csv":
        return _csv(body)
    if media_type not in ("application/json", ""):
        raise UnsupportedContent(f"/invocations takes application/json or text/csv, not {media_type}.")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidInput("The request body is not valid JSON.") from None
    keys = [key for key in _FORMATS if isinstance(document, dict) and key in document]
    if len(keys) != 1:
        raise InvalidInput(f"The JSON body must hold exactly one of {', '.join(_FORMATS)}.")
    value = document[keys[0]]
    if keys[0] == "dataframe_split":
        return _split(value)
    return _records_or_columns(value, keys[0])


def invocations_job(model: ServedModel, columns: Columns, rows: int) -> Job[None, Scored, dict[str, Any]]:
    if rows > model.max_rows:
        raise TooLarge(f"The request has {rows} rows; at most {model.max_rows} are allowed per request.")
    missing = [name for name in model.schema.input_names if name not in columns]
    if missing:
        raise InvalidInput(f"The request lacks the model input field(s) {names(missing)}.")

    def decode() -> tuple[None, Frame]:
        fields = fields_to_read(model.schema, columns)
        return None, read_frame({f.name: columns[f.name] for f in fields}, rows, model.schema, model.read_options)

    def encode(_: None, scored: Scored) -> dict[str, Any]:
        output = list(model.schema.output_names)
        return {"predictions": [dict(zip(output, row, strict=True)) for row in scored.predictions.tolist()]}

    return Job(rows, decode, encode)


def example_request(model: ServedModel) -> dict[str, Any]:
    """The model's sample row as `dataframe_split`, numbers as numbers."""
    row = sample_row(model.schema)
    data = [
        float(text) if field.data_type.is_numeric else text
        for field, text in zip(model.schema.inputs, row, strict=True)
    ]
    return {"dataframe_split": {"columns": list(model.schema.input_names), "data": [data]}}


def _split(value: Any) -> tuple[Columns, int]:
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("columns"), list)
        or not isinstance(value.get("data"), list)
    ):
        raise InvalidInput("'dataframe_split' must be an object with 'columns' (names) and 'data' (rows).")
    return _rows_to_columns(value["columns"], value["data"])


def _records_or_columns(value: Any, key: str) -> tuple[Columns, int]:
    if isinstance(value, dict):  # {"column": [values...]}
        columns = {str(k): v if isinstance(v, list) else [v] for k, v in value.items()}
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise InvalidInput(
                f"The columns of '{key}' have different lengths ({', '.join(map(str, sorted(lengths)))})."
            )
        return columns, lengths.pop() if lengths else 0
    if isinstance(value, list) and all(isinstance(r, dict) for r in value):
        fields = list(dict.fromkeys(k for record in value for k in record))
        return {f: [record.get(f) for record in value] for f in fields}, len(value)
    raise InvalidInput(f"'{key}' must be a list of records or an object of columns.")


def _rows_to_columns(fields: Sequence[Any], data: list[Any]) -> tuple[Columns, int]:
    for row, values in enumerate(data):
        if not isinstance(values, list) or len(values) != len(fields):
            raise InvalidInput(f"Row {row} of 'data' does not hold one value per column ({len(fields)}).")
    return {str(f): [values[i] for values in data] for i, f in enumerate(fields)}, len(data)


def _csv(body: bytes) -> tuple[Columns, int]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("The CSV body is not UTF-8.") from None
    table = list(csv.reader(io.StringIO(text)))
    if not table:
        raise InvalidInput("The CSV body is empty; its first line names the columns.")
    return _rows_to_columns(table[0], table[1:])
