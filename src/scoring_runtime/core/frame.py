"""The model's input batch as the core hands it to a runtime."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd


class Frame(Mapping[str, np.ndarray]):
    """The model's input batch: one numpy column per input field, in any order.

    Numbers are float64 (NaN = missing); text, booleans and media are object arrays (None =
    missing, media as bytes); date-times are datetime64. A plain mapping of columns rather than a
    DataFrame because building a DataFrame costs more than scoring one row with a MOJO; runtimes
    that want pandas call `to_pandas()`, built once per batch.
    """

    __slots__ = ("_block", "_made", "_pandas", "rows")

    def __init__(
        self,
        columns: Mapping[str, np.ndarray] | None,
        rows: int,
        block: tuple[tuple[str, ...], np.ndarray] | None = None,
    ) -> None:
        """`block`: the same data already side by side (names, 2-D array), when the reader has it;
        `columns` None: made from it when one is asked for (see `of_block`)."""
        self._made = None if columns is None else dict(columns)
        self._pandas: pd.DataFrame | None = None
        self._block = block
        self.rows = rows

    @classmethod
    def of_block(cls, names: tuple[str, ...], block: np.ndarray) -> Frame:
        """Float64 columns side by side (`block[:, i]` is `names[i]`), made into columns only when
        one is asked for: a compiled model takes the block itself, and making the thirty views of a
        one-row request cost more than its onnxruntime call."""
        return cls(None, len(block), (names, block))

    @property
    def _columns(self) -> dict[str, np.ndarray]:
        if self._made is None:
            names, block = self._block  # type: ignore[misc]  # None columns come with a block
            self._made = dict(zip(names, block.T, strict=True))
        return self._made

    @property
    def _names(self) -> tuple[str, ...] | dict[str, np.ndarray]:
        """What iterates over the field names, without making a block's columns for it."""
        return self._block[0] if self._made is None else self._made  # type: ignore[index]

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    @staticmethod
    def concat(frames: Sequence[Frame]) -> Frame:
        """Several batches with the same columns as one."""
        names = list(frames[0])
        columns = {name: np.concatenate([frame[name] for frame in frames]) for name in names}
        return Frame(columns, sum(frame.rows for frame in frames))

    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A DataFrame of these columns (all, or `columns` in that order). All-float64 data is
        built as one block: per-column construction costs more than scoring a row."""
        names = list(self._columns) if columns is None else list(columns)
        if columns is None and self._pandas is not None:
            return self._pandas
        if self._block is not None and tuple(names) == self._block[0]:
            table = pd.DataFrame(self._block[1].copy(), columns=names, copy=False)
            if columns is None:
                self._pandas = table
            return table
        arrays = [self._columns[name] for name in names]
        if arrays and all(a.dtype == np.float64 for a in arrays):
            table = pd.DataFrame(np.column_stack(arrays), columns=names, copy=False)
        else:
            table = pd.DataFrame(
                {n: pd.Series(a, dtype=a.dtype, copy=False) for n, a in zip(names, arrays, strict=True)}, copy=False
            )
        if columns is None:
            self._pandas = table
        return table

    def matrix(self, columns: Sequence[str]) -> np.ndarray:
        """The columns side by side as a new 2-D array (float64 when they all are): the model may
        change it in place (scikit-learn transformers with copy=False do)."""
        if self._block is not None and tuple(columns) == self._block[0]:
            return self._block[1].copy()  # a contiguous copy costs a fraction of column_stack
        return np.column_stack([self._columns[name] for name in columns])
