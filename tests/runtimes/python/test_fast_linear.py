"""The accelerated path of linear models (onnxruntime in float64) against the estimators' own
predictions, on real models served by the pickle runtime."""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import ElasticNet, LinearRegression, LogisticRegression, Ridge, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import KBinsDiscretizer, MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler

from scoring_runtime.core.frame import Frame
from scoring_runtime.runtimes import load_scorer
from scoring_runtime.runtimes.options import LoadOptions
from scoring_runtime.runtimes.python.fast_linear import linear_steps


def _named(loader) -> tuple[pd.DataFrame, np.ndarray]:
    data = loader(as_frame=True)
    return data.data.rename(columns=lambda c: c.replace(" ", "_").replace("(", "").replace(")", "")), data.target


CANCER, IRIS, DIABETES = _named(load_breast_cancer), _named(load_iris), _named(load_diabetes)
MODELS = {
    "logistic pipeline": (lambda x, y: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)), CANCER),
    "three classes, min-max": (lambda x, y: make_pipeline(MinMaxScaler(), LogisticRegression(max_iter=1000)), IRIS),
    "bare logistic regression": (lambda x, y: LogisticRegression(max_iter=5000), CANCER),
    "SGD log loss, max-abs": (lambda x, y: make_pipeline(MaxAbsScaler(), SGDClassifier(loss="log_loss")), IRIS),
    "linear regression": (lambda x, y: make_pipeline(RobustScaler(), LinearRegression()), DIABETES),
    "ridge": (lambda x, y: make_pipeline(StandardScaler(), Ridge()), DIABETES),
    "elastic net": (lambda x, y: ElasticNet(alpha=0.01), DIABETES),
}


def _frame(rows: pd.DataFrame) -> Frame:
    return Frame({c: rows[c].to_numpy(np.float64) for c in rows.columns}, len(rows))


def _reference(estimator: object, rows: pd.DataFrame) -> np.ndarray:
    answer = estimator.predict_proba(rows) if hasattr(estimator, "predict_proba") else estimator.predict(rows)
    return np.asarray(answer, dtype=np.float64).reshape(len(rows), -1)


def _served(estimator: object, path) -> object:
    joblib.dump(estimator, path)
    return load_scorer(path)


@pytest.mark.parametrize("kind", list(MODELS))
def test_a_served_linear_model_answers_its_estimator_s_numbers_through_onnxruntime(kind, tmp_path):
    build, (x, y) = MODELS[kind]
    estimator = build(x, y).fit(x, y)
    scorer = _served(estimator, tmp_path / "model.joblib")
    assert "served by onnxruntime for requests of" in scorer.info.description
    rng = np.random.default_rng(3)
    rows = pd.DataFrame(x.to_numpy() * rng.uniform(0.5, 1.5, size=x.shape), columns=x.columns)
    expected = _reference(estimator, rows)
    step = min(scorer._fast.max_rows, 100)
    served = np.vstack([scorer.score(_frame(rows.iloc[i : i + step])).predictions for i in range(0, len(rows), step)])
    assert served.shape == expected.shape
    assert np.abs(served - expected).max() <= 1e-9
    one = scorer.score(_frame(rows.iloc[:1])).predictions
    assert np.abs(one - expected[:1]).max() <= 1e-9


def test_a_scaler_with_thresholds_or_a_non_linear_model_is_left_to_scikit_learn():
    x, y = CANCER
    binned = make_pipeline(KBinsDiscretizer(n_bins=4), LogisticRegression(max_iter=1000)).fit(x, y)
    assert linear_steps(binned) is None
    from sklearn.svm import SVC

    assert linear_steps(make_pipeline(StandardScaler(), SVC()).fit(x, y)) is None
    assert [type(s).__name__ for s in linear_steps(make_pipeline(StandardScaler(), Ridge()).fit(x, y))] == [
        "StandardScaler",
        "Ridge",
    ]


def test_rows_with_missing_values_go_to_the_estimator_and_are_refused_as_it_refuses_them(tmp_path):
    x, y = CANCER
    scorer = _served(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y), tmp_path / "m.joblib"
    )
    rows = x.head(3).copy()
    rows.iloc[1, 4] = np.nan
    from scoring_runtime.core.errors import BadCell

    with pytest.raises(BadCell, match=x.columns[4]):
        scorer.score(_frame(rows))


def test_off_keeps_the_estimator_and_the_description_says_nothing_of_onnxruntime(tmp_path):
    x, y = CANCER
    estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)
    path = tmp_path / "m.joblib"
    joblib.dump(estimator, path)
    scorer = load_scorer(path, LoadOptions(accelerate=False))
    assert scorer._fast is None and "onnxruntime" not in scorer.info.description
    np.testing.assert_array_equal(scorer.score(_frame(x.head(50))).predictions, _reference(estimator, x.head(50)))


def test_the_verification_refuses_a_compiled_model_that_answers_otherwise(tmp_path, monkeypatch):
    """A converter that got the model wrong (here: every answer moved by 1e-6) is caught
    by the comparison at load, and the estimator serves with the reason in its description."""
    from scoring_runtime.runtimes.python import fast_linear

    real = fast_linear._predictor

    def shifted(session):
        predict = real(session)
        return lambda matrix: predict(matrix) + 1e-6

    monkeypatch.setattr(fast_linear, "_predictor", shifted)
    x, y = DIABETES
    estimator = make_pipeline(StandardScaler(), Ridge()).fit(x, y)
    scorer = _served(estimator, tmp_path / "ridge.joblib")
    assert scorer._fast is None
    assert "scored by scikit-learn: onnxruntime differs from it by up to 1e-06" in scorer.info.description
    np.testing.assert_array_equal(scorer.score(_frame(x.head(20))).predictions, _reference(estimator, x.head(20)))
