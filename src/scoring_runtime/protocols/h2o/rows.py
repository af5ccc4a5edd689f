"""The `rows` of a request, in the one of two forms the body reader produced.

`CellRows` holds JSON values (strings, numbers, booleans, null) row by row, as the contract sends
them. `FloatRows` holds rows the body reader read straight into one 2-D float array because every
model input is a number, which is most of the cost of a big request. Both answer the same
questions, so nothing downstream asks which one it has.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import core_schema

from scoring_runtime.core.columns import ReadOptions, read_frame
from scoring_runtime.core.errors import InvalidInput
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.types import ModelSchema

Columns = Sequence[Sequence[Any]]
"""A request's columns in its `fields` order, as the answer copies them."""
CELL_SCHEMA = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"}]}


class RowTable(ABC):
    """A request's rows; validated from a JSON array of arrays (or kept, when already read)."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def check_width(self, width: int) -> None:
        """Every row must hold `width` values; the first that does not is named."""

    @abstractmethod
    def read(self, fields: list[str], schema: ModelSchema, options: ReadOptions) -> tuple[Frame, Columns]:
        """The model's typed frame, and the request's columns in `fields` order (for echoing)."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_wrap_validator_function(_validate, handler.generate_schema(list[list[Any]]))

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> dict:
        return {"type": "array", "items": {"type": "array", "items": CELL_SCHEMA}}


def _validate(value: Any, handler: core_schema.ValidatorFunctionWrapHandler) -> RowTable:
    return value if isinstance(value, RowTable) else CellRows(handler(value))


class CellRows(RowTable):
    def __init__(self, values: list[list[Any]]) -> None:
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    def check_width(self, width: int) -> None:
        for index, row in enumerate(self.values):
            if len(row) != width:
                raise InvalidInput(f"row {index} has {len(row)} values but 'fields' names {width}.")

    def read(self, fields: list[str], schema: ModelSchema, options: ReadOptions) -> tuple[Frame, Columns]:
        columns = list(zip(*self.values, strict=True))
        frame = read_frame(dict(zip(fields, columns, strict=True)), len(self.values), schema, options)
        return frame, columns


class FloatRows(RowTable):
    def __init__(self, block: np.ndarray) -> None:
        self.block = block

    def __len__(self) -> int:
        return len(self.block)

    def check_width(self, width: int) -> None:
        if self.block.shape[1] != width:  # a rectangle: the first row stands for all
            raise InvalidInput(f"row 0 has {self.block.shape[1]} values but 'fields' names {width}.")

    def read(self, fields: list[str], schema: ModelSchema, options: ReadOptions) -> tuple[Frame, Columns]:
        """The block becomes the frame as is; the model may get it side by side without copying
        column by column when the request lists exactly its inputs in order (the usual request,
        so its columns are taken in order rather than looked up by name)."""
        columns_of = self.block.T
        names = tuple(fields)
        if names == schema.input_names:
            return Frame.of_block(names, self.block), columns_of
        position = {name: i for i, name in enumerate(fields)}
        data = {f.name: columns_of[position[f.name]] for f in schema.inputs}
        return Frame(data, len(self.block)), columns_of
