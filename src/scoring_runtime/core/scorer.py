"""The one interface every model runtime implements.

A runtime sees a typed, column-wise frame holding exactly the model's input fields and answers
with numpy arrays; it never sees a request and never imports a web framework. That keeps each
adapter testable on its own and lets every protocol share it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from scoring_runtime.core.frame import Frame
from scoring_runtime.core.types import Capability, Contributions, ModelInfo, ModelSchema, ScoreResult, ShapleyKind


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

    @property
    def framework_model(self) -> object | None:
        """The object the model's own framework serves it with (an MLflow pyfunc), for a protocol
        that must answer exactly as that framework's server does; None for most runtimes."""
        return None

    def close(self) -> None:  # noqa: B027  (most runtimes hold nothing that outlives garbage collection)
        """Release what the model holds outside Python's memory (a JVM object, a C++ pipeline,
        extracted files); called once, after the last request that uses it has finished."""
