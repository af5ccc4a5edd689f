"""What runs in Spark's Python workers: the model, loaded once per worker from the files Spark
shipped, and the scoring of each Arrow batch through the core.

A Python worker is a process of its own, forked by PySpark's daemon before any of this runs, so
a MOJO's JVM starts in the worker after the fork, as it must.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype, is_string_dtype

from scoring_runtime.batch.score import result_columns
from scoring_runtime.core.columns import fields_to_read, objects, read_column
from scoring_runtime.core.errors import BadCell, InvalidInput, ModelLoadError, RequestError
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.model import ScoreOptions, ServedModel
from scoring_runtime.core.text import value_columns

FAILURE = "scorer-failure: "
"""Marks the sentence of a failure inside Spark's error text, so the driver can say it alone."""
_models: dict[str, ServedModel] = {}
"""The worker's model by its bundle's digest: a session's next job on the same files (a notebook
scoring again) reuses the load, whose MOJO check alone costs a worker 0.1-0.6 s."""
_lock = threading.Lock()


@dataclass(frozen=True)
class Job:
    """Everything a worker needs, pickled with the function Spark ships."""

    bundle: str
    """The name of the folder shipped with `addFile`."""
    digest: str
    """The sha256 of that folder's files, with the runtime: which loaded model may serve the job."""
    artifact: str
    runtime: str | None
    include: tuple[str, ...]
    options: ScoreOptions
    as_text: bool
    """Write the outputs as the H2O API's texts (CSV output), not doubles."""


def model_for(job: Job, folder: Path | None = None) -> ServedModel:
    """The worker's model for `job`, loaded at its first batch."""
    with _lock:
        model = _models.get(job.digest)
        if model is None:
            for loaded in _models.values():  # a worker runs one task at a time: nothing else holds it
                loaded.close()
            _models.clear()
            from pyspark import SparkFiles

            from scoring_runtime.runtimes import load_model
            from scoring_runtime.settings import load_settings

            root = folder or Path(SparkFiles.get(job.bundle))
            settings = load_settings(model=root / job.artifact, runtime=job.runtime, max_rows=2**31 - 1)
            try:
                model = load_model(settings)
            except ModelLoadError as exc:
                raise RuntimeError(f"{FAILURE}{exc}") from None
            _models[job.digest] = model
        return model


def score_batches(job: Job, batches: Iterator[pd.DataFrame], folder: Path | None = None) -> Iterator[pd.DataFrame]:
    """`mapInPandas`'s function: each batch in, its scores out, rows in the same order."""
    model = model_for(job, folder)
    for batch in batches:
        yield score_batch(model, job, batch)


def score_batch(model: ServedModel, job: Job, batch: pd.DataFrame) -> pd.DataFrame:
    try:
        results = result_columns(model, model.score_now(frame_of(model, batch), job.options))
    except BadCell as exc:
        row = batch.iloc[exc.row]
        record = {str(k): (None if pd.isna(v) else v) for k, v in row.items()}
        where = f"row {exc.row} counts from the start of a Spark batch; the record: {record}"
        raise RuntimeError(f"{FAILURE}{exc.detail} ({where}.)") from None
    except RequestError as exc:
        raise RuntimeError(f"{FAILURE}{exc.detail}") from None
    out = {name: batch[name].reset_index(drop=True) for name in job.include}
    numeric = numeric_results(model)
    for name, column in results:
        out[name] = _column(column, job.as_text, name in numeric or name not in model.schema.output_names)
    return pd.DataFrame(out)


def frame_of(model: ServedModel, batch: pd.DataFrame) -> Frame:
    """The model's frame from an Arrow batch: a numeric Spark column for a numeric field is taken
    as float64 as it is (nulls are NaN, the missing value), a text column for a categorical field
    against its levels; any other column is read cell by cell, as the H2O API reads a request's cells."""
    schema = model.schema
    missing = [name for name in schema.input_names if name not in batch.columns]
    if missing:
        raise InvalidInput(f"The batch lacks the model's input column(s) {', '.join(map(repr, missing))}.")
    media = set(schema.media_fields)
    columns = {}
    for field in fields_to_read(schema, [str(c) for c in batch.columns]):
        values = batch[field.name]
        if field.data_type.is_numeric and is_numeric_dtype(values.dtype) and not is_bool_dtype(values.dtype):
            columns[field.name] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        elif field.levels is not None and is_string_dtype(values) and field.name not in media:  # every cell a text
            columns[field.name] = _levels_of(values, field.levels)
        else:
            cells = values.astype(object).where(values.notna(), None).tolist()
            columns[field.name] = read_column(field, cells, model.read_options, field.name in media)
    return Frame(columns, len(batch))


def _levels_of(values: pd.Series, levels: tuple[str, ...]) -> np.ndarray:
    """A text column read against the field's levels as the H2O API reads its cells (a level the
    field does not have is missing), at pandas' speed instead of one cell at a time."""
    codes = pd.Index(levels).get_indexer(values)  # -1: missing, or a level the field lacks
    return objects([*levels, None])[codes]


def numeric_results(model: ServedModel) -> set[str]:
    """The output fields written as doubles; the others (a model source's text) as strings.
    Interval bounds and contributions are always numbers."""
    return {f.name for f in model.schema.outputs if f.data_type.is_numeric}


def _column(column: np.ndarray, as_text: bool, numeric: bool) -> Any:
    """Doubles, or (CSV output, a model source's text) the H2O API's texts."""
    if as_text or not numeric:
        return value_columns(column.reshape(-1, 1))[0]
    if column.dtype != object:
        return column
    return np.array([np.nan if v is None else v for v in column.tolist()], dtype=np.float64)
