"""H2O-3 MOJOs scored by H2O's own genmodel classes in an in-process JVM (JPype).

genmodel's `score0` takes a row of doubles in the MOJO's own feature order, categoricals as
domain indices, and checks nothing: swapped columns silently give wrong answers. So this adapter
builds that matrix itself, column by column in numpy, and hands the whole batch to the project's
`BatchScorer` helper in one JNI call.

A level the model never saw is scored as missing (NaN), as H2O's MOJO scorers do when asked to.
H2O's in-cluster `predict` gives the same predictions (its trees send an out-of-range level down the
missing-value branch), but its `predict_contributions` for such rows does not add up to its own
prediction (off by up to 5% on the test fixtures); encoded as missing, contributions add up.
"""

from __future__ import annotations

import logging
from itertools import repeat
from pathlib import Path
from typing import Any

import jpype
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
from scoring_runtime.runtimes.h2o3.jars import HELPER_JAR, genmodel_jar
from scoring_runtime.runtimes.h2o3.jvm import ensure_jvm, java_home
from scoring_runtime.runtimes.options import LoadOptions

_SCORING_TYPES = {
    "Regression": ScoringType.REGRESSION,
    "Binomial": ScoringType.BINOMIAL,
    "Multinomial": ScoringType.CLASSIFICATION,
    "Ordinal": ScoringType.CLASSIFICATION,
}
_MIN_ROWS_PER_THREAD = 2000
_CONTRIBUTIONS = {
    True: "for GBM and DRF, TreeSHAP tables where a tree's paths allow, made at the first request for "
    "contributions and used only if within 1e-5 of genmodel's TreeSHAP on verification rows (the log says "
    "for how many trees); else genmodel's",
    False: "genmodel's own (SCORER_ACCELERATE=off)",
}
log = logging.getLogger("scorer")


class H2O3MojoScorer(Scorer):
    def __init__(self, path: Path, options: LoadOptions) -> None:
        ensure_jvm((genmodel_jar(options.genmodel_jar), HELPER_JAR), options.jvm_max_heap, java_home(options.java_home))
        self._JDouble = jpype.JArray(jpype.JDouble)
        try:
            model = jpype.JClass("hex.genmodel.MojoModel").load(str(path), True)  # DRF contributions need the metadata
        except jpype.JException as exc:
            raise ModelLoadError(f"{path} is not a readable H2O-3 MOJO ({exc.getMessage()}).") from None
        category = str(model.getModelCategory())
        algo = str(model._algoName)
        if category not in _SCORING_TYPES:
            raise ModelLoadError(
                f"{path} is an H2O-3 {algo} {category} model; this server scores Regression, Binomial, "
                "Multinomial and Ordinal MOJOs."
            )
        if model.getOffsetName() is not None:
            raise ModelLoadError(f"{path} needs an offset column ({model.getOffsetName()}), which is not supported.")
        self._model = model
        self._features = [str(name) for name in list(model.getNames())[: int(model.nfeatures())]]
        domains = model.getDomainValues()
        levels = [None if d is None else [str(v) for v in d] for d in list(domains)[: len(self._features)]]
        self._codes = [None if d is None else {level: float(i) for i, level in enumerate(d)} for d in levels]
        threads = options.mojo_threads or 1
        self._batch = jpype.JClass("ai.scoringruntime.BatchScorer")(
            model, len(self._features), threads, _MIN_ROWS_PER_THREAD, options.accelerate
        )
        self._preds_size = int(self._batch.predsSize())
        self._explainer_told = False
        self.schema = _schema(model, category, self._features, levels)
        self._prediction_columns = slice(0, 1) if category == "Regression" else slice(1, None)
        self._contribution_names = [str(n) for n in self._batch.contributionNames()][:-1]  # the last is the bias
        explains = bool(self._contribution_names) and category in {"Regression", "Binomial"}
        self._original = _aggregation(self._contribution_names, self._features) if explains else None
        self.capabilities = frozenset(
            {Capability.SCORE}
            | ({Capability.CONTRIBUTION_ORIGINAL, Capability.CONTRIBUTION_TRANSFORMED} if explains else set())
        )
        self.info = ModelInfo(
            name=path.name.removesuffix(".zip"),
            description=f"H2O-3 {algo} MOJO, {category}, trained with H2O {model._h2oVersion}; "
            f"scored by {self._batch.scoringPath()}",
            runtime="h2o3_mojo",
            artifact_id=str(model.getUUID()),
            notes=(
                f"Java runtime: {java_home(options.java_home)} (Java {jpype.getJVMVersion()[0]}), heap -Xmx{options.jvm_max_heap}",
                f"genmodel classes: {genmodel_jar(options.genmodel_jar)}",
                f"batch helper threads: {threads}",
                f"scored by: {self._batch.scoringPath()}",
                f"contributions by: {_CONTRIBUTIONS[options.accelerate] if explains else 'none'}",
            ),
        )

    def score(self, frame: Frame, *, intervals: bool = False) -> ScoreResult:
        matrix = self._encode(frame)
        flat = self._batch.score(self._JDouble(matrix.ravel()), len(matrix))
        raw = np.array(flat, dtype=np.float64).reshape(len(matrix), self._preds_size)
        return ScoreResult(predictions=np.ascontiguousarray(raw[:, self._prediction_columns]))

    def contributions(self, frame: Frame, kind: ShapleyKind) -> Contributions:
        matrix = self._encode(frame)
        width = len(self._contribution_names) + 1
        flat = self._batch.contributions(self._JDouble(matrix.ravel()), len(matrix))
        if not self._explainer_told:
            self._explainer_told = True
            log.info("%s: contributions by %s", self.info.name, self._batch.contributionsPath())
        values = np.array(flat, dtype=np.float32).astype(np.float64).reshape(len(matrix), width)
        if kind is ShapleyKind.ORIGINAL and self._original is not None:
            names, aggregation = self._original
            values = np.hstack([values[:, :-1] @ aggregation, values[:, -1:]])
        else:
            names = self._contribution_names
        features = (*tuple(f"contrib_{n}" for n in names), "contrib_bias")
        return Contributions(features=features, groups=(ContributionGroup(values),))

    def _encode(self, frame: Frame) -> np.ndarray:
        """The MOJO's input matrix: its feature order, levels as domain indices, missing as NaN."""
        matrix = np.empty((frame.rows, len(self._features)), dtype=np.float64)
        for index, (name, codes) in enumerate(zip(self._features, self._codes, strict=True)):
            column = frame[name]
            if codes is None:
                matrix[:, index] = column
            else:  # missing, and any level the model never saw, is NaN
                matrix[:, index] = np.fromiter(map(codes.get, column, repeat(np.nan)), np.float64, count=frame.rows)
        return matrix


def _schema(model: Any, category: str, features: list[str], domains: list[list[str] | None]) -> ModelSchema:
    response = str(model.getResponseName())
    labels = tuple(str(level) for level in model.getDomainValues()[model.getResponseIdx()] or ())
    if category == "Regression":
        outputs = (Field(response, DataType.FLOAT64),)
        target = Field(response, DataType.FLOAT64)
    else:
        outputs = tuple(Field(f"{response}.{label}", DataType.FLOAT64) for label in labels)
        target = Field(response, DataType.STR, levels=labels)
    inputs = tuple(
        Field(name, DataType.FLOAT64) if domain is None else Field(name, DataType.STR, levels=tuple(domain))
        for name, domain in zip(features, domains, strict=True)
    )
    return ModelSchema(
        inputs=inputs,
        outputs=outputs,
        targets=(target,),
        scoring_type=_SCORING_TYPES[category],
        class_labels=labels if category != "Regression" else (),
    )


def _aggregation(names: list[str], features: list[str]) -> tuple[list[str], np.ndarray]:
    """A 0/1 matrix summing each contribution column (e.g. XGBoost's `Origin.ABE`) into its input field."""
    feature_set = set(features)
    by_length = sorted(features, key=len, reverse=True)
    aggregation = np.zeros((len(names), len(features)))
    for row, name in enumerate(names):
        owner = name if name in feature_set else next((f for f in by_length if name.startswith(f + ".")), None)
        if owner is None:
            raise ModelLoadError(f"Cannot tell which input field the contribution '{name}' belongs to.")
        aggregation[row, features.index(owner)] = 1.0
    used = [f for f in features if aggregation[:, features.index(f)].any()]
    keep = [features.index(f) for f in used]
    return used, aggregation[:, keep]


SCORER = H2O3MojoScorer
