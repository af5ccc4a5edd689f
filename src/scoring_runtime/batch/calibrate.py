"""Offline steps that store a sidecar beside a model: conformal calibration, a background sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from scoring_runtime.batch.files import read_chunks
from scoring_runtime.batch.score import chunk_frame
from scoring_runtime.core.errors import ConfigError
from scoring_runtime.core.model import ServedModel
from scoring_runtime.core.types import ScoringType
from scoring_runtime.runtimes import calibration
from scoring_runtime.runtimes.artifacts import sha256_of
from scoring_runtime.runtimes.python.explain import background_file


def calibrate(model: ServedModel, artifact: Path, data: Path, target: str, coverage: float) -> str:
    """Store split-conformal residual quantiles beside `artifact`; returns what was stored."""
    if model.schema.scoring_type is not ScoringType.REGRESSION:
        raise ConfigError("Prediction intervals are calibrated for regression models only.")
    if not 0 < coverage < 1:
        raise ConfigError(f"--coverage must be a fraction between 0 and 1 (e.g. 0.9), not {coverage:g}.")
    predictions: list[np.ndarray] = []
    actual: list[float] = []
    for fields, rows in read_chunks(data, 10_000):
        if target not in fields:
            raise ConfigError(f"{data} has no column '{target}'.")
        column = fields.index(target)
        frame, _ = chunk_frame(model, fields, rows)
        predictions.append(model.score_now(frame).predictions[:, 0])
        actual.extend(float(row[column]) if row[column] not in ("", None) else float("nan") for row in rows)
    try:
        fitted = calibration.fit(np.concatenate(predictions), np.array(actual), coverage, target, sha256_of(data))
    except ValueError as exc:
        raise ConfigError(f"{exc}.") from exc
    path = calibration.save(fitted, artifact)
    return f"{path}: prediction ± {fitted.quantile:.6g} for {fitted.coverage:.0%} coverage, from {fitted.rows} rows"


def store_background(model: ServedModel, artifact: Path, data: Path, rows: int) -> str:
    """Store a sample of `data`'s input columns beside `artifact` for Kernel SHAP."""
    inputs = list(model.schema.input_names)
    table = pd.read_csv(data, dtype=str, keep_default_na=False)
    missing = [name for name in inputs if name not in table.columns]
    if missing:
        raise ConfigError(f"{data} lacks the input fields {missing}.")
    sample = table[inputs].sample(min(rows, len(table)), random_state=0)
    path = background_file(artifact)
    sample.to_csv(path, index=False)
    return f"{path}: {len(sample)} rows; restart the server to use them"
