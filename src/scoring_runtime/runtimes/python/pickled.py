"""Pickled Python estimators (pickle, joblib, cloudpickle files): scikit-learn and alike.

Unpickling runs code from the file; that is why the loader checks `SCORER_MODEL_SHA256` first.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from scoring_runtime.core.errors import BadCell, ModelLoadError
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.scorer import Scorer
from scoring_runtime.core.types import (
    Capability,
    Contributions,
    DataType,
    Field,
    ModelInfo,
    ModelSchema,
    ScoreResult,
    ScoringType,
    ShapleyKind,
)
from scoring_runtime.runtimes.artifacts import stable_id
from scoring_runtime.runtimes.options import LoadOptions
from scoring_runtime.runtimes.python.accelerate import Accelerated, accelerate
from scoring_runtime.runtimes.python.explain import explainer_for, read_background
from scoring_runtime.runtimes.python.sklearn_inspect import categorical_levels, classes_of, describe
from scoring_runtime.runtimes.sidecar import Sidecar, load_sidecar


class PickleScorer(Scorer):
    def __init__(self, path: Path, options: LoadOptions) -> None:
        self.estimator = _unpickle(path)
        if not hasattr(self.estimator, "predict"):
            raise ModelLoadError(
                f"The object in {path} is a {type(self.estimator).__name__}, which has no predict method."
            )
        sidecar = load_sidecar(path)
        self._columns = _training_columns(self.estimator, sidecar, path)
        self._named_inputs = hasattr(self.estimator, "feature_names_in_")
        levels = categorical_levels(self.estimator)
        self._native_levels = {
            name: {str(level): level for level in native}
            for name, native in levels.items()
            if any(not isinstance(level, str) for level in native)
        }
        self._classes = classes_of(self.estimator)
        self.schema = _schema(self.estimator, sidecar, self._columns, levels, self._classes, path)
        background = read_background(path, self.schema.inputs)
        self._explainer, explain_note = explainer_for(
            self.estimator, self._columns, self._classes, self._native_background(background)
        )
        self.capabilities = frozenset(
            {Capability.SCORE} | {k.capability for k in (self._explainer.kinds if self._explainer else ())}
        )
        self._fast, fast_note = self._accelerated(background, options)
        self._slice_rows = SLICE_ROWS if _row_wise(self.estimator) else sys.maxsize
        path_note = self._fast.note if self._fast is not None else fast_note
        self.info = ModelInfo(
            name=path.stem,
            description=describe(self.estimator) + (f"; {path_note}" if path_note else ""),
            runtime="pickle",
            artifact_id=stable_id(path),
            notes=tuple(n for n in (explain_note, path_note) if n),
        )

    def _accelerated(self, background: pd.DataFrame | None, options: LoadOptions) -> tuple[Accelerated | None, str]:
        """The verified fast path when asked for and the inputs are plain numbers (the matrix the
        trees see is then exactly the request's)."""
        if not options.accelerate or self._native_levels or not all(f.data_type.is_numeric for f in self.schema.inputs):
            return None, ""
        known = (
            np.empty((0, len(self._columns)))
            if background is None
            else background[list(self._columns)].to_numpy(np.float64)
        )
        predict = self.estimator.predict_proba if self._classes is not None else self.estimator.predict
        if self._named_inputs:
            columns = list(self._columns)
            return accelerate(self.estimator, len(columns), known, lambda m: predict(pd.DataFrame(m, columns=columns)))
        return accelerate(self.estimator, len(self._columns), known, predict)

    def contributions(self, frame: Frame, kind: ShapleyKind) -> Contributions:
        assert self._explainer is not None
        features = self._model_frame(frame)
        return self._explainer.contributions(
            features if isinstance(features, pd.DataFrame) else pd.DataFrame(features), kind
        )

    def _native_background(self, background: pd.DataFrame | None) -> pd.DataFrame | None:
        if background is None:
            return None
        frame = Frame({c: background[c].to_numpy() for c in background.columns}, len(background))
        native = self._model_frame(frame)
        return native if isinstance(native, pd.DataFrame) else pd.DataFrame(native, columns=list(self._columns))

    def score(self, frame: Frame, *, intervals: bool = False) -> ScoreResult:
        if self._fast is not None and frame.rows <= self._fast.max_rows:
            matrix = frame.matrix(self._columns)
            if not np.isnan(matrix).any():  # the estimator's own handling of missing values decides
                return ScoreResult(predictions=self._fast.predict(matrix))
        elif self._fast is not None and self._fast.large is not None:
            # the library's own call, which handles missing values as the wrapper does
            return ScoreResult(predictions=self._fast.large(frame.matrix(self._columns)))
        features = self._model_frame(frame)
        predict = self.estimator.predict_proba if self._classes is not None else self.estimator.predict
        try:
            if frame.rows <= self._slice_rows:
                predictions = np.asarray(predict(features), dtype=np.float64)
            else:
                predictions = np.concatenate(
                    [np.asarray(predict(part), dtype=np.float64) for part in self._slices(features)]
                )
        except ValueError:
            self._refuse_missing(frame)
            raise
        return ScoreResult(predictions=predictions.reshape(frame.rows, -1))

    def _slices(self, features: pd.DataFrame | np.ndarray) -> list[pd.DataFrame | np.ndarray]:
        step = self._slice_rows
        if isinstance(features, pd.DataFrame):
            return [features.iloc[start : start + step] for start in range(0, len(features), step)]
        return [features[start : start + step] for start in range(0, len(features), step)]

    def _refuse_missing(self, frame: Frame) -> None:
        """A model that takes no missing values refuses them with a ValueError of its own; the
        request is told which cell, instead of a 500. Looked for only after a failure: a
        single-row request would pay for the scan every time."""
        if _allows_missing(self.estimator):
            return
        for name in self._columns:
            column = frame[name]
            if column.dtype.kind == "f" and np.isnan(column).any():
                row = int(np.flatnonzero(np.isnan(column))[0])
                model = type(self.estimator).__name__
                raise BadCell(
                    row, f"Field '{name}' in row ", f" is missing, and this model ({model}) takes no missing values."
                )

    def _model_frame(self, frame: Frame) -> pd.DataFrame | np.ndarray:
        """The frame in training column order, with categorical text mapped to the fitted level objects.

        An encoder fitted on integer codes does not recognise the text "2", so the cell is turned
        back into the level it was fitted with; a model fitted on an array gets an array.
        """
        if not self._named_inputs and not self._native_levels:
            return frame.matrix(self._columns)
        features = frame.to_pandas(self._columns)
        for name, mapping in self._native_levels.items():
            features[name] = features[name].map(mapping).astype(object)
        return features if self._named_inputs else features.to_numpy()


SLICE_ROWS = 4096
"""A big request is scored this many rows at a time. Much of scikit-learn's scoring is compiled
code that keeps the GIL for the whole call (a 50-tree GradientBoostingClassifier: ~225 ms for
100,000 rows), and while it does the event loop, every other request, waits; a slice keeps that to
a few milliseconds, and a big request alone took no longer (bench/RESULTS.md, stalls)."""


def _row_wise(estimator: Any) -> bool:
    """Whether slicing the rows cannot change the numbers: a fitted scikit-learn estimator scores
    each row on its own; an object of unknown code might not."""
    return type(estimator).__module__.split(".", 1)[0] == "sklearn"


def _allows_missing(estimator: Any) -> bool:
    try:
        from sklearn.utils import get_tags

        return bool(get_tags(estimator).input_tags.allow_nan)
    except (ImportError, AttributeError, TypeError, ValueError):
        return True  # not a scikit-learn estimator: nothing says so


def _unpickle(path: Path) -> Any:
    try:
        return joblib.load(path)
    except ModuleNotFoundError as exc:
        package = (exc.name or "").split(".")[0]
        hint = (
            "pip install 'scoring-runtime[sklearn]'"
            if package == "sklearn"
            else f"install the package that provides '{package}'"
        )
        raise ModelLoadError(
            f"Unpickling {path} needs the Python package '{package}', which is not installed; {hint}."
        ) from exc
    except (pickle.UnpicklingError, KeyError, EOFError, IndexError, ValueError) as exc:
        # what the unpickler raises on bytes that are no pickle: `KeyError: 110` says nothing to a user
        raise ModelLoadError(
            f"{path} is not a pickle this server can read (saved with pickle, joblib or cloudpickle?); "
            f"unpickling stopped with {type(exc).__name__}."
        ) from exc
    except Exception as exc:
        raise ModelLoadError(f"{path} could not be unpickled ({type(exc).__name__}: {exc}).") from exc


def _training_columns(estimator: Any, sidecar: Sidecar | None, path: Path) -> tuple[str, ...]:
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is not None:
        columns = tuple(str(c) for c in fitted)
        if sidecar is not None and sidecar.inputs:
            missing = sorted(set(columns) - {f.name for f in sidecar.inputs})
            if missing:
                raise ModelLoadError(f"The schema sidecar of {path} lacks inputs the model was fitted on: {missing}.")
        return columns
    if sidecar is not None and sidecar.inputs:
        return tuple(f.name for f in sidecar.inputs)
    raise ModelLoadError(
        f"The model in {path} was fitted without column names (no feature_names_in_), so its inputs "
        f"are unknown; fit it on a pandas DataFrame or ship a schema sidecar {path.name}.schema.json."
    )


def _schema(
    estimator: Any,
    sidecar: Sidecar | None,
    columns: tuple[str, ...],
    levels: dict[str, tuple[Any, ...]],
    classes: tuple[Any, ...] | None,
    path: Path,
) -> ModelSchema:
    if sidecar is not None and sidecar.inputs:
        inputs = tuple(Field(f.name, f.data_type, f.levels or _text_levels(levels.get(f.name))) for f in sidecar.inputs)
    else:
        inputs = tuple(
            Field(c, DataType.STR, _text_levels(levels[c])) if c in levels else Field(c, DataType.FLOAT64)
            for c in columns
        )
    targets = sidecar.targets if sidecar and sidecar.targets else ()
    target = targets[0].name if targets else "target"
    labels = tuple(str(c) for c in classes) if classes is not None else ()
    if sidecar and sidecar.outputs:
        outputs = sidecar.outputs
    elif classes is not None:
        outputs = tuple(Field(f"{target}.{label}", DataType.FLOAT64) for label in labels)
    else:
        outputs = (Field(target, DataType.FLOAT64),)
    expected = len(labels) if classes is not None else _regression_width(estimator)
    if expected is not None and len(outputs) != expected:
        raise ModelLoadError(
            f"The schema sidecar of {path} lists {len(outputs)} output fields but the model gives {expected}."
        )
    if not targets:
        targets = (Field(target, DataType.STR if classes is not None else DataType.FLOAT64),)
    return ModelSchema(
        inputs=inputs,
        outputs=outputs,
        targets=targets,
        scoring_type=ScoringType.for_labels(labels),
        class_labels=labels,
        media_fields=sidecar.media_fields if sidecar else (),
        media_kind=sidecar.media_kind if sidecar else None,
        augmentations=sidecar.augmentations if sidecar else (),
    )


def _text_levels(native: tuple[Any, ...] | None) -> tuple[str, ...] | None:
    return tuple(str(level) for level in native) if native else None


def _regression_width(estimator: Any) -> int | None:
    n_outputs = getattr(estimator, "n_outputs_", None)
    return int(n_outputs) if isinstance(n_outputs, int | np.integer) else None


SCORER = PickleScorer
