"""XGBoost's trees walked by treelite, summed and squashed the way XGBoost does it.

XGBoost's `predict_proba` costs ~170 µs for one row, almost all of it fixed cost per call (a
DMatrix-like adapter, thread dispatch); its trees take a few µs. A float64 walk of the same trees
is ~3e-7 away from it, because XGBoost works in float32: it starts every row at the base margin,
adds each tree's leaf value in tree order in float32, and squashes with `1.0f / (1.0f + expf(-x))`.
Repeated here exactly: treelite gives each tree's leaf value (float32 thresholds and leaves, as
XGBoost compares and stores them), a running float32 sum adds them in order, and `expf` is glibc's
(numpy's own float32 `exp` differs from it in the last bit for ~30 % of inputs). The base margin is
the float32 that makes the sums equal XGBoost's own margins on every verification row, not a
logit recomputed from the configuration's rounded text.

Taken: gbtree boosters for binary classification (`binary:logistic`) and regression with the
identity or logistic link, numeric splits only, NaN as the missing value. The verification of
`accelerate.py` still decides whether it serves.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from scoring_runtime.runtimes.python.compiled import Compiled, Predict, known_without_missing
from scoring_runtime.runtimes.python.fast_trees import threshold_rows
from scoring_runtime.runtimes.python.treelite_predict import bound_predict

XGBOOST = {"XGBClassifier", "XGBRegressor"}
LINKS = {"binary:logistic": True, "reg:logistic": True, "reg:squarederror": False, "reg:absoluteerror": False}
"""Objectives taken, and whether their answer is the sigmoid of the margin."""
BASE_STEPS = 16
"""float32 steps either side of the configuration's base margin searched for XGBoost's own."""
SCALAR_EXPF = 16
"""Up to this many values, calling `expf` for each is cheaper than numpy's handful of passes."""
_CLIP = np.float32(88.7)


def is_xgboost(estimator: Any) -> bool:
    return type(estimator).__name__ in XGBOOST and type(estimator).__module__.startswith("xgboost")


def compile_xgboost(estimator: Any, inputs: int, known_rows: np.ndarray) -> Compiled | str:
    """The exact float32 predictor for `estimator`, or why there is none."""
    kind = type(estimator).__name__
    try:
        import treelite
    except ModuleNotFoundError:
        return f"scored by XGBoost: install treelite ('scoring-runtime[sklearn]') to accelerate this {kind}"
    booster = estimator.get_booster()
    learner = json.loads(booster.save_raw("json"))["learner"]
    refused = _refusal(estimator, learner)
    if refused:
        return f"scored by XGBoost: {refused}"
    expf = _glibc_expf()
    if expf is None:
        return "scored by XGBoost: the C library's expf, which XGBoost squashes with, was not found"
    try:
        per_tree = bound_predict(treelite.frontend.from_xgboost(booster), "score_per_tree")
    except Exception as exc:  # a version treelite cannot read: XGBoost still serves
        return f"scored by XGBoost: treelite could not import this {kind} ({type(exc).__name__})"
    trees = learner["gradient_booster"]["model"]["trees"]
    rows = np.vstack([known_without_missing(known_rows, inputs), threshold_rows(_thresholds(trees, inputs))])
    leaves = _leaves(per_tree, rows)
    base = _base_margin(leaves, booster.inplace_predict(rows, predict_type="margin"), learner)
    if base is None:
        return "scored by XGBoost: its base margin could not be matched"
    logistic = LINKS[learner["objective"]["name"]]
    classifier = kind == "XGBClassifier"
    return Compiled("treelite", "XGBoost", (_predictor(per_tree, base, logistic, classifier, expf),), rows)


def _refusal(estimator: Any, learner: dict[str, Any]) -> str:
    booster = learner["gradient_booster"]
    objective = learner["objective"]["name"]
    if booster["name"] != "gbtree":
        return f"the {booster['name']} booster is not accelerated"
    if objective not in LINKS:
        return f"the {objective} objective is not accelerated"
    if int(learner["learner_model_param"].get("num_target", "1")) != 1:
        return "a model with several targets is not accelerated"
    missing = estimator.get_params().get("missing", np.nan)
    if missing is not None and not np.isnan(missing):
        return f"a model that reads {missing!r} as missing is not accelerated"
    if any(any(int(t) for t in tree.get("split_type", [])) for tree in booster["model"]["trees"]):
        return "a model with categorical splits is not accelerated"
    return ""


def _thresholds(trees: list[dict[str, Any]], inputs: int) -> list[np.ndarray]:
    """Every split threshold per feature, as the saved model holds them (float32, exactly)."""
    found: list[list[np.ndarray]] = [[] for _ in range(inputs)]
    for tree in trees:
        split = np.asarray(tree["left_children"]) != -1
        features = np.asarray(tree["split_indices"])[split]
        conditions = np.asarray(tree["split_conditions"], dtype=np.float32)[split].astype(np.float64)
        for feature in np.unique(features):
            found[int(feature)].append(conditions[features == feature])
    merged = [np.unique(np.concatenate(parts)) if parts else np.empty(0) for parts in found]
    return [values[np.isfinite(values)] for values in merged]


def _leaves(per_tree: Callable[[np.ndarray], np.ndarray], matrix: np.ndarray) -> np.ndarray:
    return per_tree(np.asarray(matrix, dtype=np.float32)).reshape(len(matrix), -1)


def _summed(leaves: np.ndarray, base: np.float32) -> np.ndarray:
    """Each row's margin as XGBoost adds it: the base, then every tree in order, in float32 (the
    first tree's leaves take the base in place: the same first addition, without a copy)."""
    leaves[:, 0] += base
    return np.cumsum(leaves, axis=1, dtype=np.float32)[:, -1]


def _base_margin(leaves: np.ndarray, margins: np.ndarray, learner: dict[str, Any]) -> np.float32 | None:
    """The float32 start that reproduces XGBoost's margins on every row, searched from the one the
    configuration's base score gives."""
    score = np.float32(learner["learner_model_param"]["base_score"].strip("[]"))
    logistic = LINKS[learner["objective"]["name"]]
    start = np.float32(-np.log(np.float32(1) / score - np.float32(1))) if logistic else score
    expected = np.asarray(margins, dtype=np.float32).reshape(len(leaves))
    candidates = [start]
    for direction in (np.float32(np.inf), np.float32(-np.inf)):
        value = start
        for _ in range(BASE_STEPS):
            value = np.nextafter(value, direction)
            candidates.append(value)
    for candidate in sorted(candidates, key=lambda c: abs(float(c) - float(start))):
        if np.array_equal(_summed(leaves.copy(), candidate), expected):
            return candidate
    return None


def _predictor(
    per_tree: Callable[[np.ndarray], np.ndarray],
    base: np.float32,
    logistic: bool,
    classifier: bool,
    expf: Callable[[np.ndarray], np.ndarray],
) -> Predict:
    one = np.float32(1)

    def predict(matrix: np.ndarray) -> np.ndarray:
        margin = _summed(_leaves(per_tree, matrix), base)
        if not logistic:
            return margin.astype(np.float64).reshape(-1, 1)
        positive = one / (expf(np.minimum(-margin, _CLIP)) + one)
        if not classifier:
            return positive.astype(np.float64).reshape(-1, 1)
        return np.column_stack([one - positive, positive]).astype(np.float64)

    return predict


def _glibc_expf() -> Callable[[np.ndarray], np.ndarray] | None:
    """glibc's `expf` over a float32 array. glibc's result is within 0.502 float32 steps of the
    exact value, so it is the correctly rounded one unless the exact value lies within a few
    thousandths of a step of a rounding boundary; float64 `exp` rounded to float32 gives that
    same answer, and only values that close to a boundary are passed to `expf` itself."""
    name = ctypes.util.find_library("m")
    if name is None:
        return None
    try:
        library = ctypes.CDLL(name)
        scalar = library.expf
    except (OSError, AttributeError):
        return None
    scalar.restype, scalar.argtypes = ctypes.c_float, [ctypes.c_float]

    def expf(values: np.ndarray) -> np.ndarray:
        if values.size <= SCALAR_EXPF:
            return np.array([scalar(value) for value in values.tolist()], dtype=np.float32)
        wide = np.exp(values.astype(np.float64))
        rounded = wide.astype(np.float32)
        neighbour = np.nextafter(rounded, np.where(wide > rounded, np.float32(np.inf), np.float32(-np.inf)))
        step = np.abs(neighbour.astype(np.float64) - rounded)
        boundary = (rounded.astype(np.float64) + neighbour) / 2
        close = np.abs(wide - boundary) <= step / 64
        for index in np.flatnonzero(close):
            rounded[index] = scalar(float(values[index]))
        return rounded

    return expf
