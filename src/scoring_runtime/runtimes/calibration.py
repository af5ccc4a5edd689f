"""Split-conformal prediction intervals for regression models without intervals of their own.

`scorer calibrate MODEL CALIB.csv --target Y --coverage 0.9` scores held-out rows, and stores the
absolute residuals' conformal quantile beside the artifact (`<artifact>.calibration.json`, with
the nominal coverage, the row count and the data's SHA-256). From then on the model lists
SCORE_PREDICTION_INTERVAL and answers `prediction ± quantile`: on exchangeable data the interval
holds the true value with probability at least the nominal coverage.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from scoring_runtime.core.errors import ModelLoadError
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.scorer import Scorer
from scoring_runtime.core.types import Capability, Contributions, ScoreResult, ShapleyKind


@dataclass(frozen=True)
class Calibration:
    method: str
    coverage: float
    quantile: float
    rows: int
    target: str
    data_sha256: str


def calibration_file(artifact: Path) -> Path:
    return artifact.with_name(artifact.name + ".calibration.json")


def fit(predictions: np.ndarray, actual: np.ndarray, coverage: float, target: str, data_sha256: str) -> Calibration:
    residuals = np.sort(np.abs(np.asarray(actual, dtype=np.float64) - np.asarray(predictions, dtype=np.float64)))
    residuals = residuals[np.isfinite(residuals)]
    rank = math.ceil((len(residuals) + 1) * coverage)
    if not 0 < coverage < 1 or rank > len(residuals):
        raise ValueError(f"{len(residuals)} rows cannot calibrate {coverage:.0%} coverage; use more rows")
    return Calibration("split-conformal", coverage, float(residuals[rank - 1]), len(residuals), target, data_sha256)


def save(calibration: Calibration, artifact: Path) -> Path:
    path = calibration_file(artifact)
    path.write_text(json.dumps(asdict(calibration), indent=2) + "\n")
    return path


def load(artifact: Path) -> Calibration | None:
    path = calibration_file(artifact)
    if not path.is_file():
        return None
    try:
        return Calibration(**json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        raise ModelLoadError(f"The calibration file {path} is not valid ({exc}).") from exc


class ConformalScorer(Scorer):
    """A regression scorer plus intervals from its calibration."""

    def __init__(self, inner: Scorer, calibration: Calibration) -> None:
        self.inner = inner
        self.calibration = calibration
        self.schema = inner.schema
        self.capabilities = inner.capabilities | {Capability.SCORE_PREDICTION_INTERVAL}
        note = f"prediction intervals: split-conformal, {calibration.coverage:.0%} nominal coverage from {calibration.rows} rows"
        self.info = type(inner.info)(**{**inner.info.__dict__, "notes": (*inner.info.notes, note)})

    def score(self, frame: Frame, *, intervals: bool = False) -> ScoreResult:
        result = self.inner.score(frame)
        if not intervals:
            return result
        point = result.predictions[:, :1]
        bounds = np.hstack([point - self.calibration.quantile, point + self.calibration.quantile])
        return ScoreResult(result.predictions, bounds)

    def contributions(self, frame: Frame, kind: ShapleyKind) -> Contributions:
        return self.inner.contributions(frame, kind)
