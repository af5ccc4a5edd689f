"""The value types every part of the server speaks: columns, schemas, capabilities, results.

A runtime answers with numpy arrays described by these types; a protocol turns them into its own
wire shapes. Nothing here knows a wire format or a web framework.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field

import numpy as np


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

    @classmethod
    def for_labels(cls, labels: tuple[str, ...]) -> ScoringType:
        """No class labels is a regression, two a binomial model, more a multiclass one."""
        if not labels:
            return cls.REGRESSION
        return cls.BINOMIAL if len(labels) == 2 else cls.CLASSIFICATION


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

    @functools.cached_property
    def level_set(self) -> frozenset[str]:
        """The levels to look a cell up in; an airport code's hundreds were hashed again per request."""
        return frozenset(self.levels or ())


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
    """Test-time augmentations the model declares for its image inputs (see core/images.py)."""
    free_form: bool = False
    """The model checks and converts its own records (a model source's Avro schema): every cell
    reaches it as text, and when it declares no inputs, every field of the request does."""

    @functools.cached_property
    def input_names(self) -> tuple[str, ...]:
        """Kept once made: every request compares its fields with them."""
        return tuple(f.name for f in self.inputs)

    @functools.cached_property
    def output_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.outputs)

    @property
    def target_name(self) -> str:
        return self.targets[0].name if self.targets else "target"


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
