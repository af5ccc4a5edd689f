"""MLflow models (a folder with an `MLmodel` file, or a zip of one) through `mlflow.pyfunc`.

The schema comes from the model's signature (`binary` columns are media fields). A classifier
flavor with `predict_proba` (scikit-learn, XGBoost, LightGBM) is scored through its native model,
so the outputs are class probabilities `<target>.<class>` as H2O's scorers give them, instead of
pyfunc's predicted labels.
"""

from __future__ import annotations

import base64
import logging
import math
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

from scoring_runtime.core.errors import InputError, ModelLoadError
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.images import check_augmentations
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
from scoring_runtime.runtimes.archives import extract_zip
from scoring_runtime.runtimes.options import LoadOptions
from scoring_runtime.runtimes.python.explain import explainer_for, read_background
from scoring_runtime.runtimes.python.requirements_check import mismatched_requirements, python_mismatch
from scoring_runtime.runtimes.python.sklearn_inspect import categorical_levels, classes_of

log = logging.getLogger("scorer")

_TYPES = {
    "boolean": DataType.BOOL,
    "integer": DataType.INT32,
    "long": DataType.INT64,
    "float": DataType.FLOAT32,
    "double": DataType.FLOAT64,
    "string": DataType.STR,
    "binary": DataType.STR,
    "datetime": DataType.TIME64,
}
_NUMPY_INTS = {DataType.INT32: np.int32, DataType.INT64: np.int64}


class MlflowScorer(Scorer):
    def __init__(self, path: Path, options: LoadOptions) -> None:
        folder = _model_folder(path)
        mismatches = mismatched_requirements(folder / "requirements.txt")
        if mismatches:  # before the load, which they may explain when it fails
            log.warning("the model %s was saved with other library versions: %s", path, "; ".join(mismatches))
        try:
            # MLflow's own version checks are these: it scanned every installed distribution
            # (~0.8 s of each load, in every server and Spark worker) to say the same.
            self._model = mlflow.pyfunc.load_model(str(folder), suppress_warnings=True)
        except ModuleNotFoundError as exc:
            raise ModelLoadError(
                f"The MLflow model {path} needs the Python package '{exc.name}', which is not installed."
            ) from exc
        except Exception as exc:
            raise ModelLoadError(f"MLflow could not load {path} ({type(exc).__name__}: {exc}).") from exc
        metadata = self._model.metadata
        python = python_mismatch(metadata.flavors.get("python_function", {}).get("python_version"))
        if python:
            log.warning("the model %s was saved with %s", path, python[0])
        mismatches += python
        self._native = _native_model(self._model)
        inputs, media = _inputs(metadata.get_input_schema(), self._native, path)
        self._classes = classes_of(self._native)
        output_schema = metadata.get_output_schema()
        output_names = _output_names(output_schema)
        target = output_names[0] if self._classes is not None and output_names else "target"
        if self._classes is None and not output_names:
            output_names = _probe_output_names(self._model, metadata, folder, path)
        self._inputs = inputs
        self.schema = _schema(inputs, media, target, self._classes, output_names, metadata, folder, path)
        names = tuple(f.name for f in inputs)
        if self._native is not None:
            self._explainer, explain_note = explainer_for(
                self._native, names, self._classes, read_background(path, inputs)
            )
        else:
            self._explainer, explain_note = None, "Shapley values: none (a custom pyfunc has no native model)"
        self.capabilities = frozenset(
            {Capability.SCORE} | {k.capability for k in (self._explainer.kinds if self._explainer else ())}
        )
        flavors = sorted(set(metadata.flavors) - {"python_function"})
        self.info = ModelInfo(
            name=path.name.removesuffix(".zip"),
            description=f"MLflow model, flavor {', '.join(flavors) or 'python_function'}",
            runtime="mlflow",
            artifact_id=metadata.model_uuid,
            notes=(*(f"saved with {m}" for m in mismatches), explain_note),
        )

    @property
    def framework_model(self) -> object:
        return self._model

    def contributions(self, frame: Frame, kind: ShapleyKind) -> Contributions:
        assert self._explainer is not None
        return self._explainer.contributions(self._typed(frame), kind)

    def score(self, frame: Frame, *, intervals: bool = False) -> ScoreResult:
        table = self._typed(frame)
        if self._classes is not None:
            return ScoreResult(np.asarray(self._native.predict_proba(table), dtype=np.float64))
        try:
            output = self._model.predict(table)
        except mlflow.exceptions.MlflowException as exc:
            raise InputError(f"The model rejected the input: {exc.message.splitlines()[0]}") from exc
        return ScoreResult(_as_matrix(output, self.schema.output_names, frame.rows))

    def _typed(self, frame: Frame) -> pd.DataFrame:
        """The frame with the signature's own column types (MLflow refuses float64 for a long column)."""
        table = frame.to_pandas([f.name for f in self._inputs])
        for field in self._inputs:
            column = table[field.name]
            if field.data_type in _NUMPY_INTS:
                if column.isna().any():
                    raise InputError(
                        f"Field '{field.name}' is missing in some rows; this model's integer column cannot take that."
                    )
                table[field.name] = column.astype(_NUMPY_INTS[field.data_type])
            elif field.data_type is DataType.FLOAT32:
                table[field.name] = column.astype(np.float32)
            elif field.data_type is DataType.BOOL and not column.isna().any():
                table[field.name] = column.astype(bool)
        return table


def _model_folder(path: Path) -> Path:
    root = extract_zip(path) if path.is_file() else path
    if (root / "MLmodel").is_file():
        return root
    candidates = [p.parent for p in root.glob("*/MLmodel")]
    if len(candidates) != 1:
        raise ModelLoadError(f"{path} holds no single MLflow model (an MLmodel file at its top or one folder down).")
    return candidates[0]


def _native_model(model: Any) -> Any:
    try:
        return model.get_raw_model()
    except (AttributeError, NotImplementedError, ValueError):
        return None


def _inputs(input_schema: Any, native: Any, path: Path) -> tuple[tuple[Field, ...], tuple[str, ...]]:
    levels = categorical_levels(native) if native is not None else {}
    if input_schema is None:
        names = getattr(native, "feature_names_in_", None)
        if names is None:
            raise ModelLoadError(
                f"The MLflow model {path} has no signature and its native model does not name its inputs; "
                "save it with a signature (mlflow.models.infer_signature)."
            )
        fields = tuple(
            Field(str(n), DataType.STR, tuple(map(str, levels[n]))) if n in levels else Field(str(n), DataType.FLOAT64)
            for n in names
        )
        return fields, ()
    if input_schema.is_tensor_spec():
        raise ModelLoadError(f"The MLflow model {path} has a tensor signature; this server scores column signatures.")
    fields, media = [], []
    for column in input_schema.inputs:
        if column.name is None:
            raise ModelLoadError(f"The MLflow model {path} has an unnamed input column; its signature must name them.")
        data_type = _TYPES.get(column.type.name)
        if data_type is None:
            raise ModelLoadError(
                f"The input '{column.name}' of {path} has the MLflow type {column.type.name}, which is not supported."
            )
        known = levels.get(column.name)
        fields.append(Field(column.name, data_type, tuple(map(str, known)) if known else None))
        if column.type.name == "binary":
            media.append(column.name)
    return tuple(fields), tuple(media)


def _schema(
    inputs: tuple[Field, ...],
    media: tuple[str, ...],
    target: str,
    classes: tuple[Any, ...] | None,
    output_names: tuple[str, ...],
    metadata: Any,
    folder: Path,
    path: Path,
) -> ModelSchema:
    if classes is not None:
        labels = tuple(str(c) for c in classes)
        outputs = tuple(Field(f"{target}.{label}", DataType.FLOAT64) for label in labels)
        targets = (Field(target, DataType.STR, labels),)
    else:
        if not output_names:
            raise ModelLoadError(f"The MLflow model {path} has no output signature, so its output columns are unknown.")
        outputs = tuple(Field(name, DataType.FLOAT64) for name in output_names)
        labels = _labels_of(output_names)
        prefix = output_names[0].rsplit(".", 1)[0] if labels else output_names[0]
        targets = (Field(prefix, DataType.STR if labels else DataType.FLOAT64, labels or None),)
    settings = (metadata.metadata or {}).get("scorer", {})
    media_kind = settings.get("media_type") if media else None
    augmentations = check_augmentations(settings.get("test_time_augmentation", ()), str(path)) if media else ()
    if augmentations and media_kind != "image":
        raise ModelLoadError(f"{path} declares test-time augmentations but not media_type: image.")
    return ModelSchema(
        inputs=inputs,
        outputs=outputs,
        targets=targets,
        scoring_type=ScoringType.for_labels(labels),
        class_labels=labels,
        media_fields=media,
        example_row=_example_row(metadata, folder, inputs),
        media_kind=media_kind,
        augmentations=augmentations,
    )


def _output_names(output_schema: Any) -> tuple[str, ...]:
    """Named output columns keep their names; unnamed ones are `target` or `target.<i>`."""
    if output_schema is None or output_schema.is_tensor_spec():
        return ()
    names = output_schema.input_names()
    if all(isinstance(name, str) and name for name in names):
        return tuple(names)
    return ("target",) if len(names) == 1 else tuple(f"target.{i}" for i in range(len(names)))


def _probe_output_names(model: Any, metadata: Any, folder: Path, path: Path) -> tuple[str, ...]:
    """Without an output signature, score the model's own input example once to learn its outputs:
    a DataFrame keeps its column names, a Series or 1-D array is `target`, 2-D is `target.<i>`."""
    try:
        example = metadata.load_input_example(str(folder))
        output = model.predict(example)
    except Exception as exc:
        raise ModelLoadError(
            f"The MLflow model {path} has no output signature and could not score its input example "
            f"({type(exc).__name__}), so its outputs are unknown; save it with a signature."
        ) from exc
    if isinstance(output, pd.DataFrame):
        return tuple(str(c) for c in output.columns)
    values = np.asarray(output)
    if values.ndim <= 1:
        name = getattr(output, "name", None)
        return (str(name) if name else "target",)
    return tuple(f"target.{i}" for i in range(values.shape[1]))


def _labels_of(names: tuple[str, ...]) -> tuple[str, ...]:
    """`digit.0 … digit.9` is a classifier's output; anything else is treated as regression values."""
    prefixes = {name.rsplit(".", 1)[0] for name in names if "." in name}
    if len(names) < 2 or len(prefixes) != 1 or not all("." in n for n in names):
        return ()
    return tuple(name.rsplit(".", 1)[1] for name in names)


def _example_row(metadata: Any, folder: Path, inputs: tuple[Field, ...]) -> tuple[str, ...] | None:
    try:
        example = metadata.load_input_example(str(folder))
    except Exception:  # an example MLflow cannot read back is only a missing convenience
        return None
    if not isinstance(example, pd.DataFrame) or example.empty or not {f.name for f in inputs} <= set(example.columns):
        return None
    row = example.iloc[0]
    return tuple(_as_text(row[f.name]) for f in inputs)


def _as_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    return str(value)


def _as_matrix(output: Any, names: tuple[str, ...], rows: int) -> np.ndarray:
    if isinstance(output, pd.DataFrame):
        missing = [n for n in names if n not in output.columns]
        if missing and output.shape[1] == len(names):
            return output.to_numpy(dtype=np.float64)
        return output.loc[:, list(names)].to_numpy(dtype=np.float64)
    values = np.asarray(output.to_numpy() if isinstance(output, pd.Series) else output, dtype=np.float64)
    return values.reshape(rows, -1)


SCORER = MlflowScorer
