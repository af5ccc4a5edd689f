"""The one interface every model runtime implements, and the small value types it speaks.

A runtime sees a typed, column-wise frame holding exactly the model's input fields and answers
with numpy arrays; it never sees the H2O string table and never imports a web framework. That
keeps each adapter testable on its own and lets the HTTP layer stay ignorant of H2O or pickle.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


class DataType(enum.StrEnum):
    """The API's column types; the values are the wire spellings."""

    BOOL = "Bool"
    INT32 = "Int32"
    INT64 = "Int64"
    FLOAT32 = "Float32"
    FLOAT64 = "Float64"
    STR = "Str"
    TIME64 = "Time64"

    @property
    def is_numeric(self) -> bool:
        return self in _NUMERIC


_NUMERIC = frozenset({DataType.INT32, DataType.INT64, DataType.FLOAT32, DataType.FLOAT64})


class ScoringType(enum.StrEnum):
    REGRESSION = "REGRESSION"
    BINOMIAL = "BINOMIAL"
    CLASSIFICATION = "CLASSIFICATION"


class Capability(enum.StrEnum):
    SCORE = "SCORE"
    SCORE_PREDICTION_INTERVAL = "SCORE_PREDICTION_INTERVAL"
    CONTRIBUTION_ORIGINAL = "CONTRIBUTION_ORIGINAL"
    CONTRIBUTION_TRANSFORMED = "CONTRIBUTION_TRANSFORMED"
    MEDIA = "MEDIA"
    TEST_TIME_AUGMENTATION = "TEST_TIME_AUGMENTATION"


class ShapleyKind(enum.StrEnum):
    ORIGINAL = "ORIGINAL"
    TRANSFORMED = "TRANSFORMED"

    @property
    def capability(self) -> Capability:
        return Capability[f"CONTRIBUTION_{self.value}"]


@dataclass(frozen=True)
class Field:
    """One column of the model's interface.

    `levels` are the categorical levels the model knows, as text; the request layer scores any
    other text in such a field as missing, which is what H2O's scorers do with unseen levels.
    """

    name: str
    data_type: DataType
    levels: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ModelSchema:
    """What the model takes and gives; `outputs` are the score columns in order."""

    inputs: tuple[Field, ...]
    outputs: tuple[Field, ...]
    targets: tuple[Field, ...]
    scoring_type: ScoringType
    class_labels: tuple[str, ...] = ()
    media_fields: tuple[str, ...] = ()
    example_row: tuple[str, ...] | None = None
    """The model's own input example as request texts (media base64-encoded), in input order."""
    missing_values: tuple[str, ...] = ()
    """Texts the model itself reads as missing (a DAI pipeline stores its own), on top of the server's."""
    media_kind: str | None = None
    """What the media cells hold when the model says so ("image"): such cells are checked to decode."""
    augmentations: tuple[str, ...] = ()
    """Test-time augmentations the model declares for its image inputs (see runtimes/images.py)."""

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.outputs)

    @property
    def target_name(self) -> str:
        return self.targets[0].name if self.targets else "target"


class Frame(Mapping[str, np.ndarray]):
    """The model's input batch: one numpy column per input field, in any order.

    Numbers are float64 (NaN = missing); text, booleans and media are object arrays (None =
    missing, media as bytes); date-times are datetime64. A plain mapping of columns rather than a
    DataFrame because building a DataFrame costs more than scoring one row with a MOJO; runtimes
    that want pandas call `to_pandas()`, built once per batch.
    """

    __slots__ = ("_block", "_columns", "_pandas", "rows")

    def __init__(
        self, columns: Mapping[str, np.ndarray], rows: int, block: tuple[tuple[str, ...], np.ndarray] | None = None
    ) -> None:
        """`block`: the same data already side by side (names, 2-D array), when the reader has it."""
        self._columns = dict(columns)
        self._pandas: pd.DataFrame | None = None
        self._block = block
        self.rows = rows

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    @staticmethod
    def concat(frames: Sequence[Frame]) -> Frame:
        """Several batches with the same columns as one."""
        names = list(frames[0])
        columns = {name: np.concatenate([frame[name] for frame in frames]) for name in names}
        return Frame(columns, sum(frame.rows for frame in frames))

    def take(self, rows: Sequence[int] | np.ndarray) -> Frame:
        indices = np.asarray(rows, dtype=np.intp)
        return Frame({name: column[indices] for name, column in self._columns.items()}, len(indices))

    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A DataFrame of these columns (all, or `columns` in that order). All-float64 data is
        built as one block: per-column construction costs more than scoring a row."""
        names = list(self._columns) if columns is None else list(columns)
        if columns is None and self._pandas is not None:
            return self._pandas
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


@dataclass(frozen=True)
class ScoreResult:
    """Predictions as a float64 matrix, one column per schema output (NaN = no prediction).

    `intervals` is an (n, 2) matrix of lower/upper bounds when they were asked for.
    """

    predictions: np.ndarray
    intervals: np.ndarray | None = None


@dataclass(frozen=True)
class ContributionGroup:
    """Contributions to one output: one row per input row, one column per feature plus bias."""

    values: np.ndarray
    output_group: str | None = None


@dataclass(frozen=True)
class Contributions:
    """`features` names the columns of every group's matrix, the bias column last."""

    features: tuple[str, ...]
    groups: tuple[ContributionGroup, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ModelInfo:
    """Descriptive facts about the artifact, for `/model/schema` and `scorer inspect`."""

    name: str
    description: str
    runtime: str
    artifact_id: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadOptions:
    """What a runtime needs from the configuration, without knowing where it came from."""

    runtime: str | None = None
    expected_sha256: str | None = None
    jvm_max_heap: str = "256m"
    mojo_threads: int = 1
    genmodel_jar: Path | None = None


class ModelLoadError(Exception):
    """The artifact cannot be served; the message is one sentence a user can act on."""


class InputError(Exception):
    """The runtime found input it cannot score (a client error), e.g. undecodable media."""


class Scorer(ABC):
    """A loaded model. Implementations are thread-safe for concurrent `score` calls."""

    schema: ModelSchema
    capabilities: frozenset[Capability]
    info: ModelInfo

    @abstractmethod
    def score(self, frame: Frame, *, intervals: bool = False) -> ScoreResult:
        """Score a batch; `frame` holds exactly `schema.inputs`, typed by the schema."""

    def contributions(self, frame: Frame, kind: ShapleyKind) -> Contributions:
        """Shapley contributions; only called when `kind.capability` is in `capabilities`."""
        raise NotImplementedError(f"{type(self).__name__} does not compute contributions")
