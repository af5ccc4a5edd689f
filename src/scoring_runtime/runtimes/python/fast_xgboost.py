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

Taken: gbtree boosters for binary and multi-class classification (`binary:logistic`,
`multi:softprob`: a softmax of float32 `expf`s summed in double, as XGBoost does) and regression
with the identity or logistic link, numeric splits only, NaN as the missing value. The
verification of `accelerate.py` still decides whether it serves.
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
LINKS = {
    "binary:logistic": "logistic",
    "reg:logistic": "logistic",
    "reg:squarederror": "identity",
    "reg:absoluteerror": "identity",
    "multi:softprob": "softmax",
}
"""Objectives taken, and how their answer is made from the margins."""
BASE_STEPS = 16
"""float32 steps either side of the configuration's base margin searched for XGBoost's own."""
SCALAR_EXPF = 16
"""Up to this many values, calling `expf` for each is cheaper than numpy's handful of passes."""
_CLIP = np.float32(88.7)
_ONE = np.float32(1)


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
    model = learner["gradient_booster"]["model"]
    order = _by_class(np.asarray(model["tree_info"], dtype=np.int64))
    if order is None:
        return "scored by XGBoost: its classes do not have one tree each per round"
    rows = np.vstack([known_without_missing(known_rows, inputs), threshold_rows(_thresholds(model["trees"], inputs))])
    leaves = _grouped(per_tree, order, rows)
    margins = np.asarray(booster.inplace_predict(rows, predict_type="margin"), dtype=np.float32)
    bases = _base_margins(leaves, margins.reshape(len(rows), -1), learner)
    if bases is None:
        return "scored by XGBoost: its base margin could not be matched"
    link = LINKS[learner["objective"]["name"]]
    answer = _answer(link, kind == "XGBClassifier", expf)
    return Compiled("treelite", "XGBoost", (_predictor(per_tree, order, bases, answer),), rows)


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


def _by_class(tree_info: np.ndarray) -> np.ndarray | None:
    """The trees' order grouped by class, each class's trees in their own order (how XGBoost adds
    them), as a (classes, rounds) index; None unless every class has as many trees."""
    classes = int(tree_info.max()) + 1 if len(tree_info) else 1
    counts = np.bincount(tree_info, minlength=classes)
    if len(set(counts.tolist())) != 1:
        return None
    return np.argsort(tree_info, kind="stable").reshape(classes, -1)


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


def _grouped(per_tree: Callable[[np.ndarray], np.ndarray], order: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Each tree's float32 leaf for each row, as (rows, classes, rounds)."""
    leaves = per_tree(np.asarray(matrix, dtype=np.float32)).reshape(len(matrix), -1)
    return leaves[:, order] if order.shape[0] > 1 else leaves.reshape(len(matrix), 1, -1)


def _summed(leaves: np.ndarray, bases: np.ndarray) -> np.ndarray:
    """Each row's margins as XGBoost adds them: each class's base, then its trees in order, in
    float32 (the first tree's leaves take the base in place: the same first addition, no copy)."""
    leaves[:, :, 0] += bases
    return np.cumsum(leaves, axis=2, dtype=np.float32)[:, :, -1]


def _base_margins(leaves: np.ndarray, margins: np.ndarray, learner: dict[str, Any]) -> np.ndarray | None:
    """Per class, the float32 start that reproduces XGBoost's margins on every row, searched from
    the one the configuration's base score gives."""
    text = learner["learner_model_param"]["base_score"].strip("[]")
    scores = np.asarray([float(value) for value in text.split(",")], dtype=np.float32)
    if learner["objective"]["name"] in ("binary:logistic", "reg:logistic"):
        scores = np.float32(-np.log(_ONE / scores - _ONE))
    classes = leaves.shape[1]
    if margins.shape[1] != classes or len(scores) not in (1, classes):
        return None
    found = []
    for index, start in enumerate(np.resize(scores, classes)):
        own = leaves[:, index : index + 1, :]
        match = next((b for b in _near(start) if np.array_equal(_summed(own.copy(), b)[:, 0], margins[:, index])), None)
        if match is None:
            return None
        found.append(match)
    return np.asarray(found, dtype=np.float32)


def _near(start: np.float32) -> list[np.float32]:
    """`start`, then the float32 values beside it, nearest first."""
    candidates = [start]
    for direction in (np.float32(np.inf), np.float32(-np.inf)):
        value = start
        for _ in range(BASE_STEPS):
            value = np.nextafter(value, direction)
            candidates.append(value)
    return sorted(candidates, key=lambda c: abs(float(c) - float(start)))


def _answer(
    link: str, classifier: bool, expf: Callable[[np.ndarray], np.ndarray]
) -> Callable[[np.ndarray], np.ndarray]:
    """Margins (rows, classes) to what `predict_proba`/`predict` answers, in XGBoost's float32 steps."""

    def identity(margins: np.ndarray) -> np.ndarray:
        return margins.astype(np.float64)

    def logistic(margins: np.ndarray) -> np.ndarray:
        positive = _ONE / (expf(np.minimum(-margins[:, 0], _CLIP)) + _ONE)
        if not classifier:
            return positive.astype(np.float64).reshape(-1, 1)
        return np.column_stack([_ONE - positive, positive]).astype(np.float64)

    def softmax(margins: np.ndarray) -> np.ndarray:
        shifted = expf((margins - margins.max(axis=1, keepdims=True)).ravel()).reshape(margins.shape)
        total = np.cumsum(shifted.astype(np.float64), axis=1)[:, -1:]  # a double, added in order
        return (shifted / total.astype(np.float32)).astype(np.float64)

    return {"identity": identity, "logistic": logistic, "softmax": softmax}[link]


def _predictor(
    per_tree: Callable[[np.ndarray], np.ndarray],
    order: np.ndarray,
    bases: np.ndarray,
    answer: Callable[[np.ndarray], np.ndarray],
) -> Predict:
    def predict(matrix: np.ndarray) -> np.ndarray:
        return answer(_summed(_grouped(per_tree, order, matrix), bases))

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
