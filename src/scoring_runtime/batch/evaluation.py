"""Built-in evaluation of any model's scores against a label column (scikit-learn's metrics).

Which outputs to read is decided by their names, the H2O API's convention every runtime here
follows: class probabilities are `<target>.<class>`, or `<target>_<class>` with the target's other
characters as `_` where a name cannot hold them (Avro field names); a regression's prediction is
`<target>` (spelled either way), or the only output of a regression model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from scoring_runtime.core.errors import ConfigError
from scoring_runtime.core.text import cell_text
from scoring_runtime.core.types import ModelSchema, ScoringType


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, Any]
    actual: np.ndarray
    """Class indices (classification) or values (regression), labelled records only."""
    predicted: np.ndarray
    """Class probabilities, one column per class, or predicted values."""
    classes: tuple[str, ...] = ()

    @property
    def is_classification(self) -> bool:
        return bool(self.classes)


def evaluate(schema: ModelSchema, predictions: np.ndarray, actual: list[Any], target: str) -> Evaluation:
    metrics = _sklearn_metrics()
    classes, columns = _probability_columns(schema, target)
    if classes:
        probabilities = np.asarray(predictions[:, columns], dtype=np.float64)
        return _classification(metrics, probabilities, actual, classes, target)
    column = _prediction_column(schema, target)
    return _regression(metrics, np.asarray(predictions[:, column], dtype=np.float64), actual, target)


def _sklearn_metrics() -> Any:
    try:
        from sklearn import metrics
    except ModuleNotFoundError:
        raise ConfigError(
            "The built-in evaluation needs scikit-learn: pip install 'scoring-runtime[report]'."
        ) from None
    return metrics


def avro_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _probability_columns(schema: ModelSchema, target: str) -> tuple[tuple[str, ...], list[int]]:
    classes, columns = [], []
    for prefix in (f"{target}.", f"{avro_name(target)}_"):
        for index, field in enumerate(schema.outputs):
            if field.data_type.is_numeric and field.name.startswith(prefix) and len(field.name) > len(prefix):
                classes.append(field.name[len(prefix) :])
                columns.append(index)
        if len(classes) >= 2:
            return tuple(classes), columns
        classes, columns = [], []
    return (), []


def _prediction_column(schema: ModelSchema, target: str) -> int:
    for index, field in enumerate(schema.outputs):
        if field.data_type.is_numeric and field.name in (target, avro_name(target)):
            return index
    numeric = [i for i, f in enumerate(schema.outputs) if f.data_type.is_numeric]
    if schema.scoring_type is ScoringType.REGRESSION and len(numeric) == 1:
        return numeric[0]
    raise ConfigError(
        f"The model's outputs ({', '.join(schema.output_names)}) hold neither class probabilities named "
        f"'{target}.<class>' (or '{avro_name(target)}_<class>') nor a prediction named '{target}'."
    )


def _classification(
    metrics: Any, probabilities: np.ndarray, actual: list[Any], classes: tuple[str, ...], target: str
) -> Evaluation:
    index = {label: i for i, label in enumerate(classes)}
    labelled = [(row, _class_of(value, index, target)) for row, value in enumerate(actual) if not _missing(value)]
    rows = np.array([row for row, _ in labelled], dtype=np.intp)
    y = np.array([label for _, label in labelled], dtype=np.intp)
    if len(y) == 0:
        raise ConfigError(f"The column '{target}' holds no labels to evaluate against.")
    proba = probabilities[rows]
    predicted = proba.argmax(axis=1)
    codes = list(range(len(classes)))
    binary = len(classes) == 2
    average = "binary" if binary else "macro"
    counts = {"pos_label": 1} if binary else {}
    values: dict[str, Any] = {
        "kind": "binomial" if binary else "multinomial",
        "target": target,
        "records": len(y),
        "auc": _auc(metrics, y, proba, codes),
        "logloss": float(metrics.log_loss(y, np.clip(proba, 1e-15, 1), labels=codes)),
        "accuracy": float(metrics.accuracy_score(y, predicted)),
        "precision": float(metrics.precision_score(y, predicted, average=average, zero_division=0, **counts)),
        "recall": float(metrics.recall_score(y, predicted, average=average, zero_division=0, **counts)),
        "f1": float(metrics.f1_score(y, predicted, average=average, zero_division=0, **counts)),
        "f2": float(metrics.fbeta_score(y, predicted, beta=2, average=average, zero_division=0, **counts)),
        "mcc": float(metrics.matthews_corrcoef(y, predicted)),
        "confusion_matrix": {
            "labels": list(classes),
            "matrix": metrics.confusion_matrix(y, predicted, labels=codes).tolist(),
        },
    }
    if binary:
        fpr, tpr, _ = metrics.roc_curve(y, proba[:, 1])
        values["roc_curve"] = [{"fpr": float(f), "tpr": float(t)} for f, t in zip(fpr, tpr, strict=True)]
    return Evaluation(values, y, proba, classes)


def _auc(metrics: Any, y: np.ndarray, proba: np.ndarray, codes: list[int]) -> float | None:
    """AUC (one-vs-rest macro for several classes); None when the labels hold a single class."""
    if len(np.unique(y)) < 2:
        return None
    if len(codes) == 2:
        return float(metrics.roc_auc_score(y, proba[:, 1]))
    normalised = proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-300, None)
    return float(metrics.roc_auc_score(y, normalised, multi_class="ovr", labels=codes))


def _regression(metrics: Any, predicted: np.ndarray, actual: list[Any], target: str) -> Evaluation:
    pairs = []
    for row, value in enumerate(actual):
        if _missing(value):
            continue
        try:
            pairs.append((row, float(cell_text(value))))
        except ValueError:
            raise ConfigError(f"The label '{target}' of record {row} is {value!r}, which is not a number.") from None
    if not pairs:
        raise ConfigError(f"The column '{target}' holds no labels to evaluate against.")
    rows = np.array([row for row, _ in pairs], dtype=np.intp)
    y = np.array([value for _, value in pairs], dtype=np.float64)
    guess = predicted[rows]
    values = {
        "kind": "regression",
        "target": target,
        "records": len(y),
        "rmse": float(np.sqrt(metrics.mean_squared_error(y, guess))),
        "mae": float(metrics.mean_absolute_error(y, guess)),
        "r2": float(metrics.r2_score(y, guess)),
        "mape": float(metrics.mean_absolute_percentage_error(y, guess)),
    }
    return Evaluation(values, y, guess)


def _missing(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, str) and value.strip() == "")
        or (isinstance(value, float) and value != value)
    )


def _class_of(value: Any, index: dict[str, int], target: str) -> int:
    """A label as one of the classes: its text, or a whole number's (`1.0` is class `1`)."""
    text = cell_text(value)
    if text in index:
        return index[text]
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None and number.is_integer() and str(int(number)) in index:
        return index[str(int(number))]
    raise ConfigError(f"The label {text!r} in '{target}' is none of the model's classes ({', '.join(index)}).")
