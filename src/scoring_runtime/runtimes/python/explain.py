"""Shapley contributions for Python models (pickles, MLflow native models).

The method is chosen at load (so capabilities are known then); the explainer is built on the
first request that asks for contributions, once.

- Tree ensembles: exact TreeSHAP (`shap.TreeExplainer`) in the model's raw margin space
  (log-odds for gradient boosting; probability for forests, which have no margin).
- Linear models: exact linear SHAP, `coef * (x - mean)`, in the `decision_function` space; the
  means come from the background sample when there is one, else zero (right after a scaler).
- Anything else: Kernel SHAP over the background sample stored beside the model
  (`<artifact>.background.csv`, written by `scorer background`); it costs
  background rows x (2 x features + 2048) model evaluations per explained row.

A Pipeline is explained on the features its final estimator sees (`TRANSFORMED`, named by
`get_feature_names_out`); `ORIGINAL` sums them back onto the input field each came from.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scoring_runtime.core.errors import ModelLoadError
from scoring_runtime.core.types import ContributionGroup, Contributions, Field, ShapleyKind
from scoring_runtime.runtimes.python.sklearn_inspect import select_columns

_TREES = frozenset(
    {
        "GradientBoostingClassifier", "GradientBoostingRegressor", "RandomForestClassifier", "RandomForestRegressor",
        "ExtraTreesClassifier", "ExtraTreesRegressor", "HistGradientBoostingClassifier", "HistGradientBoostingRegressor",
        "DecisionTreeClassifier", "DecisionTreeRegressor", "XGBClassifier", "XGBRegressor", "LGBMClassifier", "LGBMRegressor",
    }
)  # fmt: skip
_MAX_BACKGROUND = 100


@dataclass(frozen=True)
class Explainer:
    """Explains a batch given as the estimator's own input frame."""

    transformed_names: tuple[str, ...]
    original_names: tuple[str, ...]
    aggregation: np.ndarray | None
    group_labels: tuple[str | None, ...]
    _preprocess: Any
    _explain: Any

    def contributions(self, features: pd.DataFrame, kind: ShapleyKind) -> Contributions:
        matrix = features if self._preprocess is None else _dense(self._preprocess.transform(features))
        values, base = self._explain(matrix)  # (n, m, k), (k,)
        names = self.transformed_names
        if kind is ShapleyKind.ORIGINAL and self.aggregation is not None:
            values = np.einsum("nmk,mo->nok", values, self.aggregation)
            names = self.original_names
        groups = tuple(
            ContributionGroup(np.hstack([values[:, :, k], np.full((len(values), 1), base[k])]), label)
            for k, label in enumerate(self.group_labels)
        )
        return Contributions(features=(*(f"contrib_{n}" for n in names), "contrib_bias"), groups=groups)


def background_file(artifact: Path) -> Path:
    return artifact.with_name(artifact.name + ".background.csv")


def read_background(artifact: Path, inputs: tuple[Field, ...]) -> pd.DataFrame | None:
    """The stored background sample, typed like the model's inputs (numbers as float64)."""
    path = background_file(artifact)
    if not path.is_file():
        return None
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [f.name for f in inputs if f.name not in table.columns]
    if missing:
        raise ModelLoadError(f"The background sample {path} lacks the input fields {missing}.")
    columns = {}
    for field in inputs:
        text = table[field.name].replace("", None)
        columns[field.name] = pd.to_numeric(text) if field.data_type.is_numeric else text.astype(object)
    return pd.DataFrame(columns).head(_MAX_BACKGROUND)


class LazyExplainer:
    """Decided at load (so capabilities are known), built on the first request that needs it:
    importing shap (numba, llvmlite) costs a second and ~100 MB that plain scoring should not pay."""

    def __init__(
        self, kinds: frozenset[ShapleyKind], cost: str, needs_shap: bool, build: Callable[[], Explainer]
    ) -> None:
        self.kinds = kinds
        self.cost = cost
        self.needs_shap = needs_shap
        self._build = build
        self._built: Explainer | None = None
        self._lock = threading.Lock()

    def contributions(self, features: pd.DataFrame, kind: ShapleyKind) -> Contributions:
        with self._lock:
            if self._built is None:
                self._built = self._build()
        return self._built.contributions(features, kind)


def build_explainer(
    estimator: Any, inputs: tuple[str, ...], classes: tuple[Any, ...] | None, background: pd.DataFrame | None
) -> LazyExplainer | None:
    """The best exact explainer the model allows, else Kernel SHAP when a background exists, else None."""
    preprocess, final = _split(estimator)
    names, owners = _transformed_features(preprocess, inputs)
    labels = _group_labels(classes)
    kind = type(final).__name__
    multiclass_gbm = kind == "GradientBoostingClassifier" and len(labels) > 1  # shap has no such explainer
    if kind in _TREES and not multiclass_gbm:
        method, cost = "tree", "exact TreeSHAP: about the cost of scoring the trees once per feature"
    elif hasattr(final, "coef_") and hasattr(final, "intercept_") and np.atleast_2d(final.coef_).shape[1] == len(names):
        method, cost = "linear", "exact linear SHAP: one multiply per feature"
    elif background is not None:
        method = "kernel"
        preprocess, names, owners = None, tuple(inputs), list(inputs)
        cost = f"Kernel SHAP over {len(background)} background rows: about {len(background) * (2 * len(inputs) + 2048):,} model evaluations per row"
    else:
        return None
    aggregation = _aggregation(owners, inputs) if owners is not None else None

    def build() -> Explainer:
        transformed = None
        if background is not None and preprocess is not None:
            transformed = _dense(preprocess.transform(background))
        elif background is not None:
            transformed = background
        if method == "tree":
            explain = _tree(final, len(labels))
        elif method == "linear":
            explain = _linear(final, transformed, len(names), len(labels))
        else:
            explain = _kernel(estimator, background, classes, len(labels))
        return Explainer(names, tuple(inputs), aggregation, labels, preprocess, explain)

    kinds = frozenset({ShapleyKind.TRANSFORMED} | ({ShapleyKind.ORIGINAL} if aggregation is not None else set()))
    return LazyExplainer(kinds, cost, method != "linear", build)


def explainer_for(
    estimator: Any, inputs: tuple[str, ...], classes: tuple[Any, ...] | None, background: pd.DataFrame | None
) -> tuple[LazyExplainer | None, str]:
    """The explainer (built on first use) and a note for `scorer inspect` on its cost, or why none."""
    plan = build_explainer(estimator, inputs, classes, background)
    if plan is None:
        return (
            None,
            "Shapley values: none (no exact explainer fits; write a background sample with `scorer background`)",
        )
    if plan.needs_shap and importlib.util.find_spec("shap") is None:
        return None, "Shapley values need 'shap': pip install 'scoring-runtime[explain]'"
    return plan, f"Shapley values: {plan.cost}"


def _split(estimator: Any) -> tuple[Any, Any]:
    if type(estimator).__name__ == "Pipeline" and len(estimator.steps) > 1:
        return estimator[:-1], estimator.steps[-1][1]
    return None, estimator


def _transformed_features(preprocess: Any, inputs: tuple[str, ...]) -> tuple[tuple[str, ...], list[str] | None]:
    """The names the final estimator sees, and for each the input field it came from (None when
    the preprocessing mixes fields so that no such owner exists)."""
    if preprocess is None:
        return tuple(inputs), list(inputs)
    names = tuple(str(n) for n in preprocess.get_feature_names_out())
    if names == tuple(inputs):  # scalers, imputers: one feature per input field, same names
        return names, list(inputs)
    transformer = preprocess.steps[0][1]
    if type(transformer).__name__ != "ColumnTransformer":
        return names, None
    owners: list[str] = []
    for _, part, selection in transformer.transformers_:
        if isinstance(part, str) and part == "drop":
            continue
        columns = select_columns(list(inputs), selection)
        if isinstance(part, str):  # passthrough
            owners.extend(columns)
            continue
        outputs = [str(n) for n in part.get_feature_names_out(columns)]
        if len(outputs) == len(columns):
            owners.extend(columns)
        elif len(columns) == 1:
            owners.extend(columns * len(outputs))
        else:
            by_length = sorted(columns, key=len, reverse=True)
            for output in outputs:
                owner = next((c for c in by_length if output.startswith(c + "_")), None)
                if owner is None:
                    return names, None
                owners.append(owner)
    return names, owners if len(owners) == len(names) else None


def _aggregation(owners: list[str], inputs: tuple[str, ...]) -> np.ndarray:
    matrix = np.zeros((len(owners), len(inputs)))
    for row, owner in enumerate(owners):
        matrix[row, inputs.index(owner)] = 1.0
    return matrix


def _group_labels(classes: tuple[Any, ...] | None) -> tuple[str | None, ...]:
    if classes is None or len(classes) == 2:
        return (None,)  # regression, or binary: the positive class
    return tuple(str(c) for c in classes)


def _tree(model: Any, groups: int) -> Any:
    import shap

    explainer = shap.TreeExplainer(model)

    def explain(matrix: Any) -> tuple[np.ndarray, np.ndarray]:
        values = np.asarray(explainer.shap_values(np.asarray(matrix, dtype=np.float64), check_additivity=False))
        base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
        return _shaped(values, base, groups)

    return explain


def _linear(model: Any, background: Any, width: int, groups: int) -> Any:
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
    intercept = np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))
    mean = np.zeros(width) if background is None else np.asarray(background, dtype=np.float64).mean(axis=0)

    def explain(matrix: Any) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(matrix, dtype=np.float64)
        values = (x - mean)[:, :, None] * coef.T[None, :, :]  # (n, m, k)
        base = intercept + coef @ mean
        return _shaped(values, base, groups)

    return explain


def _kernel(estimator: Any, background: pd.DataFrame, classes: tuple[Any, ...] | None, groups: int) -> Any:
    import shap

    columns = list(background.columns)
    sample = background.sample(min(len(background), _MAX_BACKGROUND), random_state=0)

    def predict(matrix: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(matrix, columns=columns).astype(background.dtypes.to_dict())
        if classes is not None:
            return np.asarray(estimator.predict_proba(frame), dtype=np.float64)
        return np.asarray(estimator.predict(frame), dtype=np.float64)

    explainer = shap.KernelExplainer(predict, sample.to_numpy(dtype=object))

    def explain(matrix: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        values = np.asarray(explainer.shap_values(matrix.to_numpy(dtype=object), silent=True))
        base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
        return _shaped(values, base, groups)

    return explain


def _shaped(values: np.ndarray, base: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, m) or (n, m, k) values and (k,) bases, reduced to the groups the API reports: binary
    models report the positive class only."""
    if values.ndim == 2:
        values = values[:, :, None]
    if values.shape[2] == 2 and groups == 1:
        values, base = values[:, :, 1:], base[1:]
    return values, base[: values.shape[2]]


def _dense(matrix: Any) -> np.ndarray:
    return matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)
