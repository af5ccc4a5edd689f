"""Scoring a file into another, chunk by chunk, through the same core as every protocol."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scoring_runtime.batch.files import AtomicFile, TableWriter, count_rows, read_chunks
from scoring_runtime.core.columns import read_frame
from scoring_runtime.core.errors import InvalidInput
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.model import ServedModel
from scoring_runtime.core.text import cell_text, names, value_columns


def chunk_frame(model: ServedModel, fields: list[str], rows: list[list[Any]]) -> tuple[Frame, list[Sequence[Any]]]:
    """A chunk's typed frame, and its columns in `fields` order."""
    missing = [name for name in model.schema.input_names if name not in fields]
    if missing:
        raise InvalidInput(f"'fields' lacks the model input field(s) {names(missing)}.")
    columns = list(zip(*rows, strict=True))
    return read_frame(dict(zip(fields, columns, strict=True)), len(rows), model.schema, model.read_options), columns


def score_file(
    model: ServedModel, source: Path, out: Path, *, include: list[str], chunk_rows: int, quiet: bool
) -> None:
    """`include`: input columns copied (as text) before the predictions."""
    total = count_rows(source)
    done = 0
    target = AtomicFile(out)
    writer = TableWriter(target, {f.name for f in model.schema.outputs if f.data_type.is_numeric})
    try:
        for fields, rows in read_chunks(source, chunk_rows):
            unknown = [name for name in include if name not in fields]
            if unknown:
                raise InvalidInput(f"'--include' names {names(unknown)}, which is not a column of {source.name}.")
            frame, columns = chunk_frame(model, fields, rows)
            scored = model.score_now(frame)
            copied = [[cell_text(v) if v is not None else "" for v in columns[fields.index(n)]] for n in include]
            out_columns = copied + value_columns(scored.predictions)
            writer.write([*include, *model.schema.output_names], [list(r) for r in zip(*out_columns, strict=True)])
            done += len(rows)
            if not quiet:
                percent = f" ({100 * done / total:.0f}%)" if total else ""
                print(f"\rscored {done:,}/{total:,} rows{percent}", end="", file=sys.stderr, flush=True)
        writer.close()
        target.commit()
    except BaseException:
        target.discard()
        raise
    if not quiet:
        print(file=sys.stderr)
