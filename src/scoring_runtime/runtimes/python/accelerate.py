"""The accelerated path for pickled models: the fitted model compiled at load into an in-process
scorer (treelite for scikit-learn's, LightGBM's and XGBoost's tree ensembles, onnxruntime for
scikit-learn's linear models), used only when it answers what the estimator answers.

Verification is what makes it safe: at load both paths score the model's sample row, its stored
background rows and the compiler's synthetic rows (for trees, on and beside every split threshold),
and the fast path serves only when every output is within 1e-9 of the estimator's. Rows with a
missing value always go to the estimator.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from scoring_runtime.runtimes.python.compiled import Compiled, Predict
from scoring_runtime.runtimes.python.fast_linear import compile_linear, linear_steps
from scoring_runtime.runtimes.python.fast_trees import compile_trees, is_tree_ensemble
from scoring_runtime.runtimes.python.fast_xgboost import compile_xgboost, is_xgboost

TOLERANCE = 1e-9
UNBOUNDED = 2**31


@dataclass(frozen=True)
class Accelerated:
    """`predict(matrix)` answers as `predict_proba` (classifiers) or `predict` (regressors) does,
    for a float64 matrix in the model's input order without missing values; it is the cheaper
    path for requests of up to `max_rows` rows (treelite walks trees row by row, the estimator's
    library vectorises: its fixed cost per call is larger, its cost per row can be smaller)."""

    predict: Predict
    engine: str
    own: str
    rows: int
    max_abs_diff: float
    max_rows: int
    large: Predict | None = None
    """For requests past `max_rows`: the library's own call without its wrapper, checked to
    answer exactly what the estimator does (`Compiled.large`); None: the estimator."""

    @property
    def note(self) -> str:
        up_to = "any size" if self.max_rows >= UNBOUNDED else f"up to {self.max_rows:,} rows"
        larger = f"; larger ones by {self.own}'s booster without its wrapper (equal there too)" if self.large else ""
        return (
            f"served by {self.engine} for requests of {up_to} (verified against {self.own} on {self.rows:,} "
            f"rows at load, max abs difference {self.max_abs_diff:.3g}){larger}"
        )


Reference = Callable[[np.ndarray], Any]
"""The estimator's own answer for a float64 matrix, given to it as the server gives it (a
DataFrame with its column names when it was fitted on one)."""


def accelerate(
    estimator: Any, inputs: int, known_rows: np.ndarray, reference: Reference
) -> tuple[Accelerated | None, str]:
    """The verified fast path for `estimator`, or None and the sentence why it is not used
    (empty for a kind no compiler takes)."""
    compiled = _compile(estimator, inputs, known_rows)
    if compiled is None:
        return None, ""
    if isinstance(compiled, str):
        return None, compiled
    rows = compiled.rows
    expected = np.asarray(reference(rows), dtype=np.float64).reshape(len(rows), -1)
    worst = np.inf
    for candidate in compiled.candidates:
        predict = _shaped(candidate, expected.shape[1])
        got = predict(rows)
        if got.shape != expected.shape:
            continue
        difference = float(np.abs(got - expected).max())
        if difference <= TOLERANCE:
            crossover = _crossover(predict, reference, rows)
            if crossover < 1:
                return None, (
                    f"scored by {compiled.own}: {compiled.engine} verified, but slower for this model even for one row"
                )
            large = compiled.large if compiled.large is not None and _same(compiled.large, expected, rows) else None
            return Accelerated(predict, compiled.engine, compiled.own, len(rows), difference, crossover, large), ""
        worst = min(worst, difference)
    return (
        None,
        f"scored by {compiled.own}: {compiled.engine} differs from it by up to {worst:.3g} on the verification rows",
    )


def _compile(estimator: Any, inputs: int, known_rows: np.ndarray) -> Compiled | str | None:
    if is_tree_ensemble(estimator):
        return compile_trees(estimator, inputs, known_rows)
    if is_xgboost(estimator):
        return compile_xgboost(estimator, inputs, known_rows)
    steps = linear_steps(estimator)
    if steps is not None:
        return compile_linear(estimator, steps, inputs, known_rows)
    return None


def _same(predict: Predict, expected: np.ndarray, rows: np.ndarray) -> bool:
    try:
        return bool(np.array_equal(np.asarray(predict(rows), dtype=np.float64).reshape(expected.shape), expected))
    except Exception:  # a library version that calls differently: the estimator still serves
        return False


def _shaped(predict: Predict, outputs: int) -> Predict:
    """A binary classifier compiled to its positive class's probability, answered as both classes'."""

    def both(matrix: np.ndarray) -> np.ndarray:
        answer = predict(matrix)
        return np.hstack([1.0 - answer, answer]) if outputs == 2 and answer.shape[1] == 1 else answer

    return both


def _crossover(fast: Predict, reference: Reference, rows: np.ndarray) -> int:
    """The largest request the compiled path scores faster than the estimator, from timing both on
    one row and on a thousand (a fixed cost plus a cost per row each)."""
    small, large = rows[:1], np.resize(rows, (1000, rows.shape[1]))
    fast_fixed, fast_rows = _line(fast, small, large)
    ref_fixed, ref_rows = _line(reference, small, large)
    if fast_fixed >= ref_fixed:
        return 0
    if fast_rows <= ref_rows:
        return UNBOUNDED
    return int((ref_fixed - fast_fixed) / (fast_rows - ref_rows))


def _line(call: Callable[[np.ndarray], Any], small: np.ndarray, large: np.ndarray) -> tuple[float, float]:
    """Seconds per call and per row, from the best of a few timings (a shared machine is noisy)."""
    one = min(_seconds(call, small) for _ in range(5))
    many = min(_seconds(call, large) for _ in range(3))
    per_row = max(many - one, 0.0) / (len(large) - 1)
    return max(one - per_row, 0.0), per_row


def _seconds(call: Callable[[np.ndarray], Any], rows: np.ndarray) -> float:
    started = time.perf_counter()
    call(rows)
    return time.perf_counter() - started
