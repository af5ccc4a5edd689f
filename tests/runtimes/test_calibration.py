"""Split-conformal intervals: the quantile rule, the wrapper, and coverage on a real regression."""

from __future__ import annotations

import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingRegressor

from scoring_runtime.core.errors import ModelLoadError
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.types import Capability
from scoring_runtime.runtimes import calibration, load_scorer
from tests.model_builders import DATA
from tests.server_process import REPO, start_server

SENSORS = ["psa_bar", "psb_bar", "fsa_vol_flow", "tsa_temp", "vs_vib", "cool_pwr_pct"]


def test_the_conformal_quantile_is_the_ceil_rank_residual():
    actual = np.arange(10.0)
    predicted = actual + np.array([0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8, 0.9, -1.0])
    fitted = calibration.fit(predicted, actual, 0.8, "y", "abc")
    assert fitted.quantile == pytest.approx(0.9)  # rank ceil(11 * 0.8) = 9 of the sorted |residuals|
    with pytest.raises(ValueError, match="cannot calibrate 95% coverage"):
        calibration.fit(predicted[:5], actual[:5], 0.95, "y", "abc")


@pytest.fixture(scope="module")
def split_pump_model(tmp_path_factory):
    """pump_eff regressed on six sensors: half the rows train it, a quarter calibrates, a quarter tests."""
    frame = pd.read_csv(DATA / "hydraulic.csv").sample(frac=1.0, random_state=3).reset_index(drop=True)
    half, three_quarters = len(frame) // 2, 3 * len(frame) // 4
    train, calib, test = frame.iloc[:half], frame.iloc[half:three_quarters], frame.iloc[three_quarters:]
    folder = tmp_path_factory.mktemp("conformal")
    model = GradientBoostingRegressor(n_estimators=60, max_depth=3, random_state=0).fit(
        train[SENSORS], train["pump_eff"]
    )
    joblib.dump(model, folder / "pump.joblib")
    calib[[*SENSORS, "pump_eff"]].to_csv(folder / "calib.csv", index=False)
    return folder / "pump.joblib", folder / "calib.csv", test


@pytest.mark.integration
def test_calibrated_intervals_cover_held_out_rows(split_pump_model, server_logs):
    artifact, calib_csv, test = split_pump_model
    assert Capability.SCORE_PREDICTION_INTERVAL not in load_scorer(artifact).capabilities
    result = subprocess.run(
        [sys.executable, "-m", "scoring_runtime", "calibrate", str(artifact), str(calib_csv), "--target", "pump_eff", "--coverage", "0.9"],
        capture_output=True, text=True, cwd=REPO, check=True,
    )  # fmt: skip
    assert "for 90% coverage, from 551 rows" in result.stdout
    stored = calibration.load(artifact)
    assert stored.method == "split-conformal" and stored.rows == 551 and len(stored.data_sha256) == 64
    server = start_server(artifact, server_logs)
    try:
        request = {
            "fields": SENSORS,
            "rows": test[SENSORS].astype(str).to_numpy().tolist(),
            "requestPredictionIntervals": True,
        }
        with server.client() as client:
            assert "SCORE_PREDICTION_INTERVAL" in client.get("/model/capabilities").json()
            body = client.post("/model/score", json=request).json()
    finally:
        server.stop()
    assert body["fields"] == ["target"]
    assert body["predictionIntervals"]["fields"] == ["target.lower", "target.upper"]
    bounds = np.array(body["predictionIntervals"]["rows"], dtype=float)
    point = np.array(body["score"], dtype=float)[:, 0]
    np.testing.assert_allclose(bounds[:, 1] - point, stored.quantile, rtol=1e-12)
    truth = test["pump_eff"].to_numpy()
    coverage = ((bounds[:, 0] <= truth) & (truth <= bounds[:, 1])).mean()
    assert abs(coverage - 0.9) <= 0.03, coverage


def test_a_calibration_for_a_classifier_is_refused(tmp_path, credit_model):
    artifact = tmp_path / credit_model.name
    artifact.write_bytes(credit_model.read_bytes())
    (tmp_path / f"{credit_model.name}.schema.json").write_text(
        (credit_model.parent / f"{credit_model.name}.schema.json").read_text()
    )
    calibration.save(calibration.Calibration("split-conformal", 0.9, 1.0, 100, "y", "x"), artifact)
    with pytest.raises(ModelLoadError, match="not a regression"):
        load_scorer(artifact)


def test_the_wrapper_adds_intervals_only_when_asked(split_pump_model):
    artifact, _, test = split_pump_model
    calibration.save(calibration.Calibration("split-conformal", 0.9, 2.5, 100, "pump_eff", "x"), artifact)
    scorer = load_scorer(artifact)
    frame = Frame({name: test[name].to_numpy(dtype=float) for name in SENSORS}, len(test))
    plain = scorer.score(frame)
    assert plain.intervals is None
    with_bounds = scorer.score(frame, intervals=True)
    np.testing.assert_allclose(with_bounds.intervals[:, 0], plain.predictions[:, 0] - 2.5)
    assert any("split-conformal" in note for note in scorer.info.notes)
