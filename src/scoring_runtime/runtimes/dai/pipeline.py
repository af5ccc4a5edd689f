"""Driverless AI MOJO pipelines on the C++ runtime (`daimojo`), behind the same contract.

One loaded pipeline answers scores, intervals and both Shapley types (H2O's Java scorer loads a
pipeline once per Shapley type). `daimojo` finds its license itself (`DRIVERLESS_AI_LICENSE_KEY`,
`DRIVERLESS_AI_LICENSE_FILE`, `/license/license.sig`, `~/.driverlessai/license.sig`); a
`license.sig` shipped beside the pipeline is used when none of those is set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import daimojo
import datatable
import numpy as np

from scoring_runtime.core.errors import ModelLoadError
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.scorer import Scorer
from scoring_runtime.core.types import (
    Capability,
    ContributionGroup,
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

_TYPES = {
    "bool": DataType.BOOL,
    "int32": DataType.INT32,
    "int64": DataType.INT64,
    "float32": DataType.FLOAT32,
    "float64": DataType.FLOAT64,
    "string": DataType.STR,
}
_BOUNDS = (".lower", ".upper")
LICENSE_HELP = (
    "set DRIVERLESS_AI_LICENSE_KEY or DRIVERLESS_AI_LICENSE_FILE, put license.sig in /license/ or "
    "~/.driverlessai/, or ship license.sig beside the pipeline"
)


def load_pipeline(pipeline: Path) -> Any:
    """The one call into daimojo that loads a pipeline (a test double replaces it, see the tests)."""
    return daimojo.model(str(pipeline))


class DaiMojoScorer(Scorer):
    def __init__(self, path: Path, options: LoadOptions) -> None:
        pipeline = locate_pipeline(path)
        if not options.dai_license_configured:
            use_license_beside(pipeline)
        try:
            self._model = load_pipeline(pipeline)
        except RuntimeError as exc:
            if "license" in str(exc).lower():
                raise ModelLoadError(f"The Driverless AI pipeline {path} needs a license: {LICENSE_HELP}.") from None
            raise ModelLoadError(f"daimojo could not load {path} ({exc}).") from None
        model = self._model
        unknown = sorted({t for t in model.feature_types if t not in _TYPES})
        if unknown:
            raise ModelLoadError(f"{path} has input types {unknown}, which this server cannot send.")
        self._inputs = tuple(Field(n, _TYPES[t]) for n, t in zip(model.feature_names, model.feature_types, strict=True))
        outputs = tuple(str(n) for n in model.output_names)
        labels = _labels(outputs)
        ops = model.supported_ops
        self.schema = ModelSchema(
            inputs=self._inputs,
            outputs=tuple(Field(n, DataType.FLOAT64) for n in outputs),
            targets=(
                Field(
                    outputs[0].rsplit(".", 1)[0] if labels else outputs[0], DataType.STR if labels else DataType.FLOAT64
                ),
            ),
            scoring_type=ScoringType.for_labels(labels),
            class_labels=labels,
            missing_values=tuple(str(v) for v in model.missing_values),
        )
        self._labels = labels
        self.capabilities = frozenset(
            {Capability.SCORE}
            | ({Capability.SCORE_PREDICTION_INTERVAL} if ops.interval else set())
            | ({Capability.CONTRIBUTION_TRANSFORMED} if ops.pred_contribs else set())
            | ({Capability.CONTRIBUTION_ORIGINAL} if ops.pred_contribs_original else set())
        )
        self.info = ModelInfo(
            name=path.name,
            description=f"Driverless AI MOJO pipeline (DAI {model.dai_version or 'unknown'}, MOJO {model.mojo_version})",
            runtime="dai_mojo",
            artifact_id=str(model.uuid),
        )

    def score(self, frame: Frame, *, intervals: bool = False) -> ScoreResult:
        output = self._model.predict(self._datatable(frame), interval=intervals)
        names = list(output.names)
        values = output.to_numpy().astype(np.float64).reshape(frame.rows, len(names))
        point = [i for i, n in enumerate(names) if not n.endswith(_BOUNDS)]
        bounds = None
        if intervals:
            bounds = values[:, [names.index(self.schema.target_name + b) for b in _BOUNDS]]
        return ScoreResult(values[:, point], bounds)

    def contributions(self, frame: Frame, kind: ShapleyKind) -> Contributions:
        original = kind is ShapleyKind.ORIGINAL
        output = self._model.predict(self._datatable(frame), pred_contribs=True, pred_contribs_original=original)
        names = [str(n) for n in output.names]
        values = output.to_numpy().astype(np.float64).reshape(frame.rows, len(names))
        if len(self._labels) <= 2:
            return Contributions(tuple(_contrib(n) for n in names), (ContributionGroup(values),))
        groups, features = [], None
        for label in self._labels:
            suffix = f".{label}"
            picked = [i for i, n in enumerate(names) if n.endswith(suffix)]
            if features is None:
                features = tuple(_contrib(names[i][: -len(suffix)]) for i in picked)
            groups.append(ContributionGroup(values[:, picked], label))
        return Contributions(features or (), tuple(groups))

    def _datatable(self, frame: Frame) -> datatable.Frame:
        """Typed columns for the pipeline; text columns keep None for missing."""
        columns = {}
        for field in self._inputs:
            column = frame[field.name]
            columns[field.name] = column.tolist() if column.dtype == object else column
        return datatable.Frame(columns)


def locate_pipeline(path: Path) -> Path:
    """`pipeline.mojo` itself, or the one inside a folder or zip (possibly under `mojo-pipeline/`)."""
    if path.is_file() and path.suffix.lower() != ".zip":
        return path
    root = extract_zip(path) if path.is_file() else path
    found = sorted(root.glob("pipeline.mojo")) + sorted(root.glob("*/pipeline.mojo"))
    if not found:
        raise ModelLoadError(f"{path} holds no pipeline.mojo (at its top or in mojo-pipeline/).")
    return found[0]


def use_license_beside(pipeline: Path) -> None:
    """A license.sig shipped with the pipeline, used when the operator configured none.

    This is the one place the server writes the environment, and it cannot be avoided: daimojo's
    C++ library reads its license only from `DRIVERLESS_AI_LICENSE_FILE` (or fixed paths) and
    takes no license argument."""
    beside = pipeline.parent / "license.sig"
    if beside.is_file():
        os.environ["DRIVERLESS_AI_LICENSE_FILE"] = str(beside)


def _labels(outputs: tuple[str, ...]) -> tuple[str, ...]:
    """DAI names class probabilities `<target>.<class>`; a single output is a regression."""
    if len(outputs) < 2:
        return ()
    prefixes = {o.rsplit(".", 1)[0] for o in outputs}
    return tuple(o.rsplit(".", 1)[1] for o in outputs) if len(prefixes) == 1 else ()


def _contrib(name: str) -> str:
    return name if name.startswith("contrib_") else f"contrib_{name}"


SCORER = DaiMojoScorer
