"""The accelerated path for scikit-learn tree ensembles: the fitted trees compiled at load into
treelite's in-process predictor, used only when it answers exactly what the estimator answers.

A random forest's `predict_proba` dispatches every tree through joblib (~9 ms for one row here),
and even a gradient-boosting model pays more for scikit-learn's input validation than for its
trees; treelite walks the same trees in C++ (~0.1 ms). onnxruntime was tried first: its tree
operators answer in float32, 5e-8 away from `predict_proba`, which the 1e-9 rule refuses.

Verification is what makes it safe: at load both paths score the model's sample row, its stored
background rows and synthetic rows placed on and beside every split threshold of every tree (where
a float32/float64 or `<`/`<=` difference would show), and the fast path serves only when every
output is within 1e-9 of the estimator's. Rows with a missing value always go to the estimator.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

TOLERANCE = 1e-9
UNBOUNDED = 2**31
SYNTHETIC_ROWS = 2000
SUPPORTED = {
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor",
}


@dataclass(frozen=True)
class Accelerated:
    """`predict(matrix)` answers as `predict_proba` (classifiers) or `predict` (regressors) does,
    for a float64 matrix in the model's input order without missing values; it is the cheaper
    path for requests of up to `max_rows` rows (treelite walks trees row by row, scikit-learn
    vectorises: its fixed cost per call is larger, its cost per row smaller)."""

    predict: Callable[[np.ndarray], np.ndarray]
    rows: int
    max_abs_diff: float
    max_rows: int

    @property
    def note(self) -> str:
        up_to = "any size" if self.max_rows >= UNBOUNDED else f"up to {self.max_rows:,} rows"
        return (
            f"served by treelite for requests of {up_to} (verified against scikit-learn on {self.rows:,} rows "
            f"at load, max abs difference {self.max_abs_diff:.3g})"
        )


Reference = Callable[[np.ndarray], Any]
"""The estimator's own answer for a float64 matrix, given to it as the server gives it (a
DataFrame with its column names when it was fitted on one)."""


def accelerate(
    estimator: Any, inputs: int, known_rows: np.ndarray, reference: Reference
) -> tuple[Accelerated | None, str]:
    """The verified fast path for `estimator`, or None and the sentence why it is not used."""
    kind = type(estimator).__name__
    if kind not in SUPPORTED or not type(estimator).__module__.startswith("sklearn."):
        return None, ""
    try:
        import treelite.gtil
        import treelite.sklearn
    except ModuleNotFoundError:
        return None, f"scored by scikit-learn: install treelite ('scoring-runtime[sklearn]') to accelerate this {kind}"
    try:
        compiled = treelite.sklearn.import_model(estimator)
    except Exception as exc:  # a version treelite cannot read: the estimator still serves
        return None, f"scored by scikit-learn: treelite could not import this {kind} ({type(exc).__name__})"
    rows = _verification_rows(estimator, inputs, known_rows)
    expected = np.asarray(reference(rows), dtype=np.float64).reshape(len(rows), -1)
    worst = np.inf
    for rounded in (True, False):  # sklearn's trees compare float32 inputs; HistGradientBoosting float64
        predict = _predictor(treelite.gtil, compiled, rounded, expected.shape[1])
        got = predict(rows)
        if got.shape != expected.shape:
            continue
        difference = float(np.abs(got - expected).max())
        if difference <= TOLERANCE:
            crossover = _crossover(predict, reference, rows)
            if crossover < 1:
                return None, "scored by scikit-learn: treelite verified, but slower for this model even for one row"
            return Accelerated(predict, len(rows), difference, crossover), ""
        worst = min(worst, difference)
    return None, f"scored by scikit-learn: treelite differs from it by up to {worst:.3g} on the verification rows"


def _crossover(fast: Callable[[np.ndarray], Any], reference: Reference, rows: np.ndarray) -> int:
    """The largest request treelite scores faster than scikit-learn, from timing both on one row
    and on a thousand (a fixed cost plus a cost per row each)."""
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


def _predictor(gtil: Any, compiled: Any, rounded: bool, outputs: int) -> Callable[[np.ndarray], np.ndarray]:
    def predict(matrix: np.ndarray) -> np.ndarray:
        matrix = matrix.astype(np.float32).astype(np.float64) if rounded else np.asarray(matrix, dtype=np.float64)
        answer = np.asarray(gtil.predict(compiled, np.ascontiguousarray(matrix), nthread=1), dtype=np.float64)
        answer = answer.reshape(len(matrix), -1)
        if outputs == 2 and answer.shape[1] == 1:  # a binary classifier's positive class
            answer = np.hstack([1.0 - answer, answer])
        return answer

    return predict


def _verification_rows(estimator: Any, inputs: int, known_rows: np.ndarray) -> np.ndarray:
    """The known rows (sample, background) without missing values, and synthetic rows whose every
    cell sits on a split threshold, one float32 or float64 step beside it, or between the
    smallest and largest threshold of its feature."""
    rng = np.random.default_rng(0)
    thresholds = _thresholds(estimator, inputs)
    columns = []
    for values in thresholds:
        if len(values) == 0:
            columns.append(rng.normal(size=SYNTHETIC_ROWS))
            continue
        span = max(values.max() - values.min(), 1.0)
        near = np.concatenate(
            [
                values,
                np.nextafter(values, np.inf),
                np.nextafter(values, -np.inf),
                np.nextafter(values.astype(np.float32), np.float32(np.inf)).astype(np.float64),
                np.nextafter(values.astype(np.float32), np.float32(-np.inf)).astype(np.float64),
            ]
        )
        uniform = rng.uniform(values.min() - 0.1 * span, values.max() + 0.1 * span, size=SYNTHETIC_ROWS)
        pick = rng.random(SYNTHETIC_ROWS) < 0.5
        columns.append(np.where(pick, rng.choice(near, size=SYNTHETIC_ROWS), uniform))
    synthetic = np.column_stack(columns)
    known = known_rows[~np.isnan(known_rows).any(axis=1)] if len(known_rows) else known_rows.reshape(0, inputs)
    return np.vstack([known, synthetic])


def _thresholds(estimator: Any, inputs: int) -> list[np.ndarray]:
    """Every finite split threshold of every tree, per input feature."""
    found: list[list[np.ndarray]] = [[] for _ in range(inputs)]
    predictors = getattr(estimator, "_predictors", None)
    if predictors is not None:  # HistGradientBoosting: its own node arrays
        for iteration in predictors:
            for predictor in iteration:
                nodes = predictor.nodes[~predictor.nodes["is_leaf"].astype(bool)]
                for feature, threshold in zip(nodes["feature_idx"], nodes["num_threshold"], strict=True):
                    found[int(feature)].append(np.array([threshold]))
    else:
        for tree in np.asarray(estimator.estimators_).ravel():
            structure = tree.tree_
            split = structure.feature >= 0
            for feature in np.unique(structure.feature[split]):
                found[int(feature)].append(structure.threshold[split & (structure.feature == feature)])
    merged = [np.unique(np.concatenate(parts)) if parts else np.empty(0) for parts in found]
    return [values[np.isfinite(values)] for values in merged]  # a split that sends only missing values: +inf
