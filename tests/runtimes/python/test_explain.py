"""Shapley values of Python models add up to the model's own output in the space explained."""

from __future__ import annotations

import time

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from scoring_runtime.core.types import Capability, ShapleyKind
from scoring_runtime.runtimes import load_scorer
from scoring_runtime.runtimes.python.explain import background_file
from tests.frames import OPTIONS, take, to_frame
from tests.model_builders import CREDIT_CATEGORICAL, CREDIT_NUMERIC, CREDIT_TARGET, DATA

SENSORS = ["psa_bar", "psb_bar", "fsa_vol_flow", "tsa_temp", "vs_vib", "cool_pwr_pct"]


@pytest.fixture(scope="module")
def hydraulic() -> pd.DataFrame:
    return pd.read_csv(DATA / "hydraulic.csv")


def _save(tmp_path, model, name: str = "m.joblib"):
    joblib.dump(model, tmp_path / name)
    return tmp_path / name


def _frame(scorer, table: pd.DataFrame):
    frame, _ = to_frame(list(table.columns), table.astype(str).to_numpy().tolist(), scorer.schema, OPTIONS)
    return frame


def _assert_additive(contributions, expected: np.ndarray) -> None:
    expected = expected.reshape(len(expected), -1)
    assert len(contributions.groups) == expected.shape[1]
    for k, group in enumerate(contributions.groups):
        total = group.values.sum(axis=1)
        assert (np.abs(total - expected[:, k]) <= np.maximum(1e-5, 1e-5 * np.abs(expected[:, k]))).all()


def _models(hydraulic: pd.DataFrame) -> list[tuple[str, object, pd.DataFrame, str]]:
    x = hydraulic[SENSORS]
    condition = hydraulic["cool_cond_y"]
    healthy = (condition == 100).astype(int)
    return [
        ("gbm binary (log-odds)", GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0).fit(x, healthy), x, "decision_function"),
        ("forest binary (probability)", RandomForestClassifier(n_estimators=30, random_state=0).fit(x, healthy), x, "proba1"),
        ("hist gbm multiclass", HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(x, condition), x, "decision_function"),
        ("gbm regression", GradientBoostingRegressor(n_estimators=50, random_state=0).fit(x, hydraulic["pump_eff"]), x, "predict"),
        ("scaled linear regression", Pipeline([("scale", StandardScaler()), ("lm", LinearRegression())]).fit(x, hydraulic["pump_eff"]), x, "predict"),
        ("multiclass logistic", Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(max_iter=500))]).fit(x, condition), x, "decision_function"),
    ]  # fmt: skip


@pytest.mark.parametrize("index", range(6))
def test_contributions_add_up_to_the_margin(tmp_path, hydraulic, index):
    name, model, x, space = _models(hydraulic)[index]
    scorer = load_scorer(_save(tmp_path, model))
    assert {Capability.CONTRIBUTION_ORIGINAL, Capability.CONTRIBUTION_TRANSFORMED} <= scorer.capabilities, name
    sample = x.sample(200, random_state=1)
    expected = model.predict_proba(sample)[:, 1] if space == "proba1" else getattr(model, space)(sample)
    for kind in ShapleyKind:
        result = scorer.contributions(_frame(scorer, sample), kind)
        assert result.features[-1] == "contrib_bias" and len(result.features) == len(SENSORS) + 1
        _assert_additive(result, np.asarray(expected))
    if "multiclass" in name:
        assert [g.output_group for g in result.groups] == ["3", "20", "100"]
    else:
        assert [g.output_group for g in result.groups] == [None]


def test_pipeline_transformed_and_original_contributions(credit_model, credit_frame):
    scorer = load_scorer(credit_model)
    sample = credit_frame[CREDIT_CATEGORICAL + CREDIT_NUMERIC].head(300)
    frame = _frame(scorer, sample)
    margin = joblib.load(credit_model).decision_function(sample)
    transformed = scorer.contributions(frame, ShapleyKind.TRANSFORMED)
    original = scorer.contributions(frame, ShapleyKind.ORIGINAL)
    assert "contrib_cat__SEX_2" in transformed.features and "contrib_num__AGE" in transformed.features
    assert original.features == (*(f"contrib_{c}" for c in CREDIT_CATEGORICAL + CREDIT_NUMERIC), "contrib_bias")
    _assert_additive(transformed, margin)
    _assert_additive(original, margin)
    sex = [i for i, f in enumerate(transformed.features) if f.startswith("contrib_cat__SEX_")]
    np.testing.assert_allclose(
        original.groups[0].values[:, 0], transformed.groups[0].values[:, sex].sum(axis=1), atol=1e-12
    )


def test_other_models_need_a_background_sample_and_then_use_kernel_shap(tmp_path, hydraulic):
    x = hydraulic[SENSORS]
    model = KNeighborsRegressor(n_neighbors=10).fit(x, hydraulic["pump_eff"])
    artifact = _save(tmp_path, model, "knn.joblib")
    bare = load_scorer(artifact)
    assert Capability.CONTRIBUTION_ORIGINAL not in bare.capabilities
    assert any("scorer background" in note for note in bare.info.notes)
    x.sample(50, random_state=0).to_csv(background_file(artifact), index=False)
    scorer = load_scorer(artifact)
    assert any("Kernel SHAP over 50 background rows" in note for note in scorer.info.notes)
    sample = x.head(5)
    _assert_additive(scorer.contributions(_frame(scorer, sample), ShapleyKind.ORIGINAL), model.predict(sample))


def test_categorical_pipeline_with_mixed_encoder_columns(tmp_path, credit_frame):
    """One OneHotEncoder over several columns: each one-hot column is owned by its input field."""
    features = credit_frame[[*CREDIT_CATEGORICAL, "AGE"]]
    pipeline = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [("onehot", OneHotEncoder(handle_unknown="ignore"), CREDIT_CATEGORICAL)], remainder="passthrough"
                ),
            ),
            ("lr", LogisticRegression(max_iter=300)),
        ]
    ).fit(features, credit_frame[CREDIT_TARGET])
    scorer = load_scorer(_save(tmp_path, pipeline))
    sample = features.head(100)
    result = scorer.contributions(_frame(scorer, sample), ShapleyKind.ORIGINAL)
    assert result.features == ("contrib_SEX", "contrib_EDUCATION", "contrib_MARRIAGE", "contrib_AGE", "contrib_bias")
    _assert_additive(result, pipeline.decision_function(sample))


def test_a_100_tree_gbm_explains_1000_rows_quickly(tmp_path, hydraulic):
    """Not a benchmark (bench/ measures it); a guard against an explainer rebuilt per request."""
    x = hydraulic[SENSORS]
    model = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0).fit(
        x, hydraulic["cool_cond_y"] == 100
    )
    scorer = load_scorer(_save(tmp_path, model))
    frame = _frame(scorer, x.head(1000))
    scorer.contributions(take(frame, [0]), ShapleyKind.ORIGINAL)
    started = time.perf_counter()
    scorer.contributions(frame, ShapleyKind.ORIGINAL)
    assert time.perf_counter() - started < 5
