"""Reading a fitted scikit-learn estimator: which input columns are categorical, and their levels.

A column that reaches a categorical encoder is a `Str` field whose levels the request layer can
check; every other column is numeric. Only the steps that see raw input columns are read.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

_ENCODERS = frozenset({"OneHotEncoder", "OrdinalEncoder", "TargetEncoder"})
_COLUMN_PRESERVING = frozenset({"SimpleImputer", "MissingIndicator"})


def classes_of(estimator: Any) -> tuple[Any, ...] | None:
    """A classifier's class labels in `predict_proba`'s column order; None for anything that
    does not give class probabilities."""
    if estimator is None or not hasattr(estimator, "predict_proba"):
        return None
    classes = getattr(estimator, "classes_", None)
    return None if classes is None else tuple(np.asarray(classes).tolist())


def categorical_levels(estimator: Any) -> dict[str, tuple[Any, ...]]:
    """Input column → the levels its encoder was fitted on (missing-value levels left out)."""
    columns = getattr(estimator, "feature_names_in_", None)
    if columns is None:
        return {}
    return dict(_walk(estimator, [str(c) for c in columns]))


def _walk(estimator: Any, columns: list[str]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    kind = type(estimator).__name__
    if kind in _ENCODERS and hasattr(estimator, "categories_"):
        for column, levels in zip(columns, estimator.categories_, strict=False):
            yield column, tuple(level for level in levels.tolist() if not _is_missing(level))
    elif kind == "ColumnTransformer":
        for _, transformer, selection in getattr(estimator, "transformers_", ()):
            if isinstance(transformer, str):
                continue
            yield from _walk(transformer, select_columns(columns, selection))
    elif kind == "Pipeline":
        for _, step in estimator.steps:
            step_kind = type(step).__name__
            if step_kind in _COLUMN_PRESERVING:
                continue
            if step_kind in _ENCODERS or step_kind in {"ColumnTransformer", "Pipeline"}:
                yield from _walk(step, columns)
            break


def select_columns(columns: list[str], selection: Any) -> list[str]:
    if isinstance(selection, str):
        return [selection]
    if isinstance(selection, slice):
        return columns[selection]
    values = list(np.asarray(selection).tolist()) if not callable(selection) else []
    if values and all(isinstance(v, bool) for v in values):
        return [c for c, keep in zip(columns, values, strict=False) if keep]
    return [columns[v] if isinstance(v, int) else str(v) for v in values]


def _is_missing(level: Any) -> bool:
    return level is None or (isinstance(level, float) and math.isnan(level))


def describe(estimator: Any) -> str:
    """A one-line description such as `scikit-learn Pipeline(ColumnTransformer → GradientBoostingClassifier)`."""
    library = type(estimator).__module__.split(".")[0].replace("sklearn", "scikit-learn")
    if type(estimator).__name__ == "Pipeline":
        steps = " → ".join(type(step).__name__ for _, step in estimator.steps)
        return f"{library} Pipeline({steps})"
    return f"{library} {type(estimator).__name__}"
