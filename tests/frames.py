"""Frames for runtime tests, read from rows of cells by the core's column reader."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from scoring_runtime.core.columns import ReadOptions, read_frame
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.types import ModelSchema
from scoring_runtime.settings import DEFAULT_MISSING_VALUES

OPTIONS = ReadOptions(frozenset(DEFAULT_MISSING_VALUES))


def to_frame(
    fields: list[str], rows: Sequence[Sequence[Any]], schema: ModelSchema, options: ReadOptions = OPTIONS
) -> tuple[Frame, list[tuple[Any, ...]]]:
    """The typed frame of `rows` (columns named by `fields`), and the columns."""
    columns = list(zip(*rows, strict=True))
    position = {name: i for i, name in enumerate(fields)}
    return read_frame({f.name: columns[position[f.name]] for f in schema.inputs}, len(rows), schema, options), columns


def take(frame: Frame, rows: Sequence[int] | np.ndarray) -> Frame:
    """The frame's rows at these positions (repeats allowed)."""
    indices = np.asarray(rows, dtype=np.intp)
    return Frame({name: column[indices] for name, column in frame.items()}, len(indices))
