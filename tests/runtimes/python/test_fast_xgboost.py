"""XGBoost's own float32 arithmetic repeated on treelite's walk: bit for bit what `predict_proba`
and `predict` answer, or XGBoost itself with the reason."""

from __future__ import annotations

import ctypes
import ctypes.util
import json

import joblib
import numpy as np
import pandas as pd
import pytest
import treelite
import treelite.gtil
from sklearn.datasets import load_breast_cancer

from scoring_runtime.core.frame import Frame
from scoring_runtime.runtimes import load_scorer
from scoring_runtime.runtimes.python.fast_xgboost import _glibc_expf, _thresholds
from scoring_runtime.runtimes.python.treelite_predict import bound_predict

xgboost = pytest.importorskip("xgboost")

DATA = load_breast_cancer(as_frame=True)
X = DATA.data.rename(columns=lambda c: c.replace(" ", "_"))
Y = DATA.target

MODELS = {
    "classifier": lambda: xgboost.XGBClassifier(n_estimators=80, random_state=0).fit(X, Y),
    "deep classifier on numpy": lambda: xgboost.XGBClassifier(n_estimators=40, max_depth=8, random_state=0).fit(
        X.to_numpy(), Y
    ),
    "three classes": lambda: xgboost.XGBClassifier(n_estimators=40, random_state=0).fit(X, Y + (X["mean_radius"] > 15)),
    "four classes, deep": lambda: xgboost.XGBClassifier(n_estimators=30, max_depth=7, random_state=0).fit(
        X, Y * 2 + (X["mean_texture"] > 20)
    ),
    "regressor": lambda: xgboost.XGBRegressor(n_estimators=60, random_state=0).fit(X, Y * 3.5 + 1),
    "logistic regressor": lambda: xgboost.XGBRegressor(objective="reg:logistic", n_estimators=50, random_state=0).fit(
        X, Y * 0.8 + 0.1
    ),
}


def _rows(estimator: object, count: int = 3000) -> pd.DataFrame:
    """Real rows, rows spread over the training ranges, and rows on and beside split thresholds."""
    rng = np.random.default_rng(11)
    booster = estimator.get_booster()
    trees = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]
    found = _thresholds(trees, X.shape[1])
    spread = rng.uniform(X.min().to_numpy(), X.max().to_numpy(), size=(count, X.shape[1]))
    near = np.column_stack(
        [
            np.nextafter(rng.choice(values, count), rng.choice([-np.inf, np.inf], count)).astype(np.float32)
            if len(values)
            else spread[:, i]
            for i, values in enumerate(found)
        ]
    )
    return pd.DataFrame(np.vstack([X.to_numpy(), spread, near]), columns=X.columns)


def _answer(estimator: object, rows: pd.DataFrame) -> np.ndarray:
    data = rows if hasattr(estimator, "feature_names_in_") else rows.to_numpy()
    answer = estimator.predict_proba(data) if hasattr(estimator, "predict_proba") else estimator.predict(data)
    return np.asarray(answer, dtype=np.float64).reshape(len(rows), -1)


def _saved(estimator: object, folder) -> object:
    path = folder / "model.joblib"
    joblib.dump(estimator, path)
    if not hasattr(estimator, "feature_names_in_"):  # fitted on numpy: the sidecar names the inputs
        fields = [{"name": name, "dataType": "Float64"} for name in X.columns]
        (folder / "model.joblib.schema.json").write_text(json.dumps({"inputFields": fields}))
    return load_scorer(path)


def _frame(rows: pd.DataFrame) -> Frame:
    return Frame({c: rows[c].to_numpy(np.float64) for c in rows.columns}, len(rows))


@pytest.mark.parametrize("kind", list(MODELS))
def test_a_served_xgboost_model_answers_xgboost_s_numbers_bit_for_bit(kind, tmp_path):
    estimator = MODELS[kind]()
    scorer = _saved(estimator, tmp_path)
    assert "served by treelite for requests of" in scorer.info.description
    assert "verified against XGBoost" in scorer.info.description
    rows = _rows(estimator)
    expected = _answer(estimator, rows)
    assert np.array_equal(scorer._fast.predict(rows.to_numpy(np.float64)), expected)
    step = min(scorer._fast.max_rows, 40)
    served = np.vstack([scorer.score(_frame(rows.iloc[i : i + step])).predictions for i in range(0, 600, step)])
    assert np.array_equal(served, expected[: len(served)])


@pytest.mark.parametrize(
    ("estimator", "reason"),
    [
        (lambda: xgboost.XGBRegressor(n_estimators=10, objective="reg:gamma").fit(X, Y + 1.0), "reg:gamma"),
        (lambda: xgboost.XGBClassifier(n_estimators=10, booster="dart").fit(X, Y), "the dart booster"),
        (lambda: xgboost.XGBClassifier(n_estimators=10, missing=0.0).fit(X, Y), "reads 0.0 as missing"),
    ],
    ids=["gamma regression", "dart", "zero as missing"],
)
def test_what_is_not_repeated_keeps_xgboost_and_says_why(estimator, reason, tmp_path):
    fitted = estimator()
    scorer = _saved(fitted, tmp_path)
    assert scorer._fast is None
    assert "scored by XGBoost:" in scorer.info.description and reason in scorer.info.description
    rows = X.sample(60, random_state=1)
    assert np.array_equal(scorer.score(_frame(rows)).predictions, _answer(fitted, rows))


def test_the_bound_walker_gives_each_tree_s_float32_leaf_as_gtil_does():
    estimator = MODELS["classifier"]()
    model = treelite.frontend.from_xgboost(estimator.get_booster())
    per_tree = bound_predict(model, "score_per_tree")
    for rows in (X.to_numpy(np.float32)[:1], X.to_numpy(np.float32)[:300]):
        got = per_tree(rows)
        assert got.dtype == np.float32
        assert np.array_equal(got, treelite.gtil.predict_per_tree(model, rows, nthread=1))


def test_expf_is_glibc_s_expf_on_every_value_including_the_close_calls():
    expf = _glibc_expf()
    assert expf is not None
    scalar = ctypes.CDLL(ctypes.util.find_library("m")).expf
    scalar.restype, scalar.argtypes = ctypes.c_float, [ctypes.c_float]
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.uniform(-104, 88.7, 200_000), rng.normal(0, 3, 100_000)]).astype(np.float32)
    values = np.concatenate([values, np.float32([0, -0.0, 88.7, -103.97, -110, 1e-30])])
    expected = np.array([scalar(v) for v in values.tolist()], dtype=np.float32)
    assert np.array_equal(expf(values), expected)
    assert np.array_equal(expf(values[:5]), expected[:5])  # the scalar path for a few values
