"""Tree ensembles (scikit-learn's, LightGBM's) compiled into treelite's in-process predictor.

A random forest's `predict_proba` dispatches every tree through joblib (~9 ms for one row here),
and even a gradient-boosting model pays more for scikit-learn's input validation than for its
trees; treelite walks the same trees in C++ (~0.1 ms). LightGBM's scikit-learn wrapper spends
~0.9 ms on one row (pandas checks, OpenMP), treelite ~0.06 ms. XGBoost sums and squashes in
float32, ~3e-7 from any float64 walk of its trees: `fast_xgboost.py` repeats its arithmetic. onnxruntime was tried first: its tree
operators answer in float32, 5e-8 away from `predict_proba`, which the 1e-9 rule refuses.

The verification rows are what make it safe: every cell sits on a split threshold, one float32 or
float64 step beside it (where a float32/float64 or `<`/`<=` difference would show), or between the
smallest and largest threshold of its feature.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from scoring_runtime.runtimes.python.compiled import SYNTHETIC_ROWS, Compiled, known_without_missing
from scoring_runtime.runtimes.python.treelite_predict import bound_predict

TREES = {
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor",
}
LIGHTGBM = {"LGBMClassifier", "LGBMRegressor"}


def is_tree_ensemble(estimator: Any) -> bool:
    kind, module = type(estimator).__name__, type(estimator).__module__
    return (kind in TREES and module.startswith("sklearn.")) or (kind in LIGHTGBM and module.startswith("lightgbm."))


def compile_trees(estimator: Any, inputs: int, known_rows: np.ndarray) -> Compiled | str:
    """treelite's predictors for `estimator` (its inputs rounded to float32 as scikit-learn's
    trees compare them, and unrounded as HistGradientBoosting compares them), or why there are none."""
    kind = type(estimator).__name__
    lightgbm = kind in LIGHTGBM
    own = "LightGBM" if lightgbm else "scikit-learn"
    try:
        import treelite.sklearn
    except ModuleNotFoundError:
        return f"scored by {own}: install treelite ('scoring-runtime[sklearn]') to accelerate this {kind}"
    try:
        if lightgbm:
            found = _lightgbm_thresholds(estimator, inputs)
            if isinstance(found, str):
                return f"scored by {own}: {found}"
            model = treelite.frontend.from_lightgbm(estimator.booster_)
        else:
            found = thresholds(estimator, inputs)
            model = treelite.sklearn.import_model(estimator)
        walk = bound_predict(model)
    except Exception as exc:  # a version treelite cannot read: the estimator still serves
        return f"scored by {own}: treelite could not import this {kind} ({type(exc).__name__})"
    rows = np.vstack([known_without_missing(known_rows, inputs), threshold_rows(found)])
    candidates = tuple(_predictor(walk, rounded) for rounded in (True, False))
    return Compiled("treelite", own, candidates, rows, _lightgbm_booster(estimator) if lightgbm else None)


def _lightgbm_booster(estimator: Any) -> Callable[[np.ndarray], np.ndarray]:
    """What the scikit-learn wrapper answers, from the booster directly: `num_threads=0` leaves
    the thread count to OpenMP, so the server's thread budget holds."""
    booster = estimator.booster_
    binary = getattr(estimator, "n_classes_", 0) == 2

    def predict(matrix: np.ndarray) -> np.ndarray:
        answer = booster.predict(matrix, num_threads=0)
        return np.vstack((1.0 - answer, answer)).transpose() if binary else answer.reshape(len(matrix), -1)

    return predict


def _predictor(walk: Callable[[np.ndarray], np.ndarray], rounded: bool) -> Callable[[np.ndarray], np.ndarray]:
    def predict(matrix: np.ndarray) -> np.ndarray:
        matrix = matrix.astype(np.float32).astype(np.float64) if rounded else np.asarray(matrix, dtype=np.float64)
        answer = walk(matrix)
        return np.asarray(answer, dtype=np.float64).reshape(len(matrix), -1)

    return predict


def threshold_rows(found: list[np.ndarray]) -> np.ndarray:
    """Rows whose every cell sits on a split threshold of its feature, one float32 or float64 step
    beside one, or anywhere between (and a little beyond) the smallest and largest."""
    rng = np.random.default_rng(0)
    columns = []
    for values in found:
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
    return np.column_stack(columns)


def thresholds(estimator: Any, inputs: int) -> list[np.ndarray]:
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


def _lightgbm_thresholds(estimator: Any, inputs: int) -> list[np.ndarray] | str:
    """Every split threshold per feature, from the booster's own dump; a categorical split is
    refused (rows on its category codes would be needed to verify it)."""
    trees = estimator.booster_.trees_to_dataframe()
    splits = trees[trees["split_feature"].notna()]
    if (splits["decision_type"] != "<=").any():
        return f"treelite is not used for a {type(estimator).__name__} with categorical splits"
    position = {name: index for index, name in enumerate(estimator.booster_.feature_name())}
    found: list[list[float]] = [[] for _ in range(inputs)]
    for feature, threshold in zip(splits["split_feature"], splits["threshold"].astype(float), strict=True):
        found[position[feature]].append(threshold)
    merged = [np.unique(np.asarray(values, dtype=np.float64)) for values in found]
    return [values[np.isfinite(values)] for values in merged]
