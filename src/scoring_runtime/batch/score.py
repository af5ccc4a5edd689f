"""`scorer score`: a file scored into another through the same core as every protocol, so the
values equal `POST /model/score` for the same rows.

A bad cell fails the whole job (with its line in the file); the output is written to a temporary
file and renamed only once every chunk has been scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scoring_runtime.batch.files import AtomicFile, TableWriter, count_rows, kind_of, read_chunks
from scoring_runtime.batch.progress import progress_bar
from scoring_runtime.core.columns import read_frame
from scoring_runtime.core.errors import BadCell, ConfigError, InvalidInput
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.model import Scored, ScoreOptions, ServedModel
from scoring_runtime.core.text import cell_text, names, value_columns
from scoring_runtime.core.types import ShapleyKind


def chunk_frame(model: ServedModel, fields: list[str], rows: list[list[Any]]) -> tuple[Frame, list[Sequence[Any]]]:
    """A chunk's typed frame, and its columns in `fields` order."""
    missing = [name for name in model.schema.input_names if name not in fields]
    if missing:
        raise InvalidInput(f"'fields' lacks the model input field(s) {names(missing)}.")
    columns = list(zip(*rows, strict=True))
    return read_frame(dict(zip(fields, columns, strict=True)), len(rows), model.schema, model.read_options), columns


def result_columns(model: ServedModel, scored: Scored) -> list[tuple[str, np.ndarray]]:
    """The answer as named columns: the outputs, then the interval bounds, then one column per
    contribution (`contrib_<feature>`, `contrib_bias`; per class `<class>.contrib_<feature>`)."""
    columns = [(f.name, scored.predictions[:, i]) for i, f in enumerate(model.schema.outputs)]
    if scored.intervals is not None:
        target = model.schema.target_name
        columns += [(f"{target}.lower", scored.intervals[:, 0]), (f"{target}.upper", scored.intervals[:, 1])]
    if scored.contributions is not None:
        features = scored.contributions.features
        for group in scored.contributions.groups:
            prefix = f"{group.output_group}." if group.output_group is not None else ""
            columns += [(f"{prefix}{feature}", group.values[:, i]) for i, feature in enumerate(features)]
    return columns


def score_options(model: ServedModel, shapley: str | None, intervals: bool) -> ScoreOptions:
    """The options checked against what the model offers before any row is read."""
    kind = None
    if shapley is not None:
        if shapley not in ("ORIGINAL", "TRANSFORMED"):
            raise ConfigError(f"--shapley is {shapley!r}; it must be ORIGINAL or TRANSFORMED.")
        kind = ShapleyKind(shapley)
    options = ScoreOptions(intervals=intervals, shapley=kind)
    model.check(options)
    return options


def score_file(
    model: ServedModel,
    source: Path,
    out: Path,
    *,
    include: list[str],
    options: ScoreOptions,
    chunk_rows: int,
    quiet: bool,
) -> int:
    """Score every row of `source` into `out`; returns the rows scored."""
    if chunk_rows < 1:
        raise ConfigError(f"--chunk-rows is {chunk_rows}; it must be 1 or more.")
    kind_of(out)
    total = count_rows(source)
    target = AtomicFile(out)
    done = 0
    try:
        writer = TableWriter(target, set())
        with progress_bar(total, "scoring", quiet) as advance:
            for fields, rows in read_chunks(source, chunk_rows):
                check_fields(model, source, fields, include)
                scored = _scored(model, source, fields, rows, done, options)
                copied = copied_columns(fields, rows, include)
                results = result_columns(model, scored)
                writer.numeric = {name for name, column in results if column.dtype != object}
                writer.numeric |= {f.name for f in model.schema.outputs if f.data_type.is_numeric}
                texts = copied + [value_columns(column.reshape(-1, 1))[0] for _, column in results]
                writer.write([*include, *(name for name, _ in results)], [list(r) for r in zip(*texts, strict=True)])
                done += len(rows)
                advance(len(rows))
        writer.close()
        target.commit()
    except BaseException:
        target.discard()
        raise
    return done


def check_fields(model: ServedModel, source: Path, fields: list[str], include: list[str]) -> None:
    """A file's columns hold the model's inputs and every `--include`d field, or the job fails."""
    unknown = [name for name in include if name not in fields]
    if unknown:
        raise ConfigError(f"--include names {names(unknown)}, which is not a field of {source.name}.")
    clash = [name for name in include if name in model.schema.output_names]
    if clash:
        raise ConfigError(f"--include names {names(clash)}, which the model also outputs.")
    missing = [name for name in model.schema.input_names if name not in fields]
    if missing:
        raise ConfigError(f"{source.name} lacks the model's input field(s) {names(missing)}.")


def copied_columns(fields: list[str], rows: list[list[Any]], include: list[str]) -> list[list[str]]:
    """The `--include`d input columns as text (missing as "")."""
    return [[_text(row[fields.index(name)]) for row in rows] for name in include]


def _scored(
    model: ServedModel, source: Path, fields: list[str], rows: list[list[Any]], offset: int, options: ScoreOptions
) -> Scored:
    try:
        frame, _ = chunk_frame(model, fields, rows)
        return model.score_now(frame, options)
    except BadCell as exc:
        record = offset + exc.row
        raise InvalidInput(f"{_place(source, record)} of {source.name}: {exc.at(record)}") from None


def _place(source: Path, record: int) -> str:
    """Where the zero-based `record` is in the file, as an editor shows it."""
    kind = kind_of(source)
    if kind == "csv":
        return f"Line {record + 2}"  # the header is line 1
    if kind == "jsonl":
        return f"Line {record + 1}"
    return f"Row {record + 1}"


def _text(value: Any) -> str:
    return "" if value is None else cell_text(value)
