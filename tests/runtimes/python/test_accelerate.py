"""The accelerated path of tree ensembles (scikit-learn's, LightGBM's) against the estimators' own
predictions, on real models.

Each check scores rows built to be hard for a re-implementation of the trees — values on and one
float step beside split thresholds — and asks for exactly the estimator's numbers.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)

from scoring_runtime.core.frame import Frame
from scoring_runtime.runtimes import load_scorer
from scoring_runtime.runtimes.options import LoadOptions
from scoring_runtime.runtimes.python.accelerate import accelerate
from scoring_runtime.runtimes.python.fast_trees import _lightgbm_thresholds, thresholds

DATA = load_breast_cancer(as_frame=True)
X = DATA.data.rename(columns=lambda c: c.replace(" ", "_"))
Y = DATA.target


def _lightgbm(regression: bool = False) -> object:
    from lightgbm import LGBMClassifier, LGBMRegressor

    if regression:
        return LGBMRegressor(n_estimators=60, random_state=0, verbose=-1).fit(X, Y * 3.5)
    return LGBMClassifier(n_estimators=60, random_state=0, verbose=-1).fit(X, Y)


MODELS = {
    "random forest": lambda: RandomForestClassifier(n_estimators=60, max_depth=10, random_state=0).fit(X, Y),
    "extra trees": lambda: ExtraTreesClassifier(n_estimators=40, random_state=0).fit(X, Y),
    "gradient boosting": lambda: GradientBoostingClassifier(n_estimators=60, random_state=0).fit(X, Y),
    "histogram boosting": lambda: HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(X, Y),
    "forest regressor": lambda: RandomForestRegressor(n_estimators=30, random_state=0).fit(X, Y * 3.5),
    "boosting regressor": lambda: GradientBoostingRegressor(n_estimators=60, random_state=0).fit(X, Y * 3.5),
    "lightgbm": _lightgbm,
    "lightgbm regressor": lambda: _lightgbm(regression=True),
}


def _hard_rows(estimator: object, count: int = 400) -> pd.DataFrame:
    """Rows whose cells are split thresholds or their float32/float64 neighbours, and real rows."""
    rng = np.random.default_rng(7)
    columns = {}
    found = (
        _lightgbm_thresholds(estimator, X.shape[1])
        if type(estimator).__module__.startswith("lightgbm")
        else thresholds(estimator, X.shape[1])
    )
    for index, (name, values) in enumerate(zip(X.columns, found, strict=True)):
        candidates = values if len(values) else X[name].to_numpy()
        chosen = rng.choice(candidates, size=count)
        step = rng.integers(0, 3, size=count)
        chosen = np.where(step == 1, np.nextafter(chosen, np.inf), chosen)
        chosen = np.where(step == 2, np.nextafter(chosen.astype(np.float32), np.float32(-np.inf)), chosen)
        columns[name] = np.where(rng.random(count) < 0.2, X.iloc[rng.integers(0, len(X), count), index], chosen)
    return pd.DataFrame(columns)


def _frame(rows: pd.DataFrame) -> Frame:
    return Frame({c: rows[c].to_numpy(np.float64) for c in rows.columns}, len(rows))


def _reference(estimator: object, rows: pd.DataFrame) -> np.ndarray:
    answer = estimator.predict_proba(rows) if hasattr(estimator, "predict_proba") else estimator.predict(rows)
    return np.asarray(answer, dtype=np.float64).reshape(len(rows), -1)


@pytest.mark.parametrize("kind", list(MODELS))
def test_a_served_tree_ensemble_answers_its_estimator_s_numbers_through_treelite(kind, tmp_path):
    import joblib

    estimator = MODELS[kind]()
    path = tmp_path / "model.joblib"
    joblib.dump(estimator, path)
    scorer = load_scorer(path)
    assert "served by treelite for requests of" in scorer.info.description
    assert scorer._fast is not None and scorer._fast.max_rows >= 1
    rows = _hard_rows(estimator)
    expected = _reference(estimator, rows)
    compiled = scorer._fast.predict(rows.to_numpy(np.float64))
    assert np.abs(compiled - expected).max() <= 1e-9
    step = min(scorer._fast.max_rows, 50)  # requests the fast path takes
    served = np.vstack([scorer.score(_frame(rows.iloc[i : i + step])).predictions for i in range(0, len(rows), step)])
    assert np.abs(served - expected).max() <= 1e-9


def test_a_model_treelite_does_not_match_keeps_the_estimator_and_says_why(tmp_path):
    """A three-class GradientBoosting: treelite's softmax is 6e-8 away, so it is refused."""
    import joblib

    labels = Y + (X["mean_radius"] > 15).astype(int)
    estimator = GradientBoostingClassifier(n_estimators=30, random_state=0).fit(X, labels)
    path = tmp_path / "three.joblib"
    joblib.dump(estimator, path)
    scorer = load_scorer(path)
    assert scorer._fast is None
    assert "scored by scikit-learn: treelite differs from it by up to" in scorer.info.description
    rows = X.sample(100, random_state=0)
    np.testing.assert_array_equal(scorer.score(_frame(rows)).predictions, _reference(estimator, rows))


def test_a_lightgbm_model_with_categorical_splits_keeps_lightgbm_and_says_why(tmp_path):
    import joblib
    from lightgbm import LGBMClassifier

    codes = np.random.default_rng(0).integers(0, 3, len(X))
    coded = X.assign(grade=Y.to_numpy() * 3 + codes)  # codes 0-2 mostly one class, 3-5 the other
    estimator = LGBMClassifier(n_estimators=20, random_state=0, verbose=-1, min_data_per_group=5, cat_smooth=1)
    estimator.fit(coded, Y, categorical_feature=["grade"])
    path = tmp_path / "categorical.joblib"
    joblib.dump(estimator, path)
    scorer = load_scorer(path)
    assert scorer._fast is None
    assert "scored by LightGBM: treelite is not used for a LGBMClassifier with categorical splits" in (
        scorer.info.description
    )
    rows = coded.sample(50, random_state=0)
    np.testing.assert_array_equal(scorer.score(_frame(rows)).predictions, _reference(estimator, rows))


def test_off_means_the_estimator_s_own_path(tmp_path):
    import joblib

    estimator = MODELS["random forest"]()
    path = tmp_path / "forest.joblib"
    joblib.dump(estimator, path)
    scorer = load_scorer(path, LoadOptions(accelerate=False))
    assert scorer._fast is None and "treelite" not in scorer.info.description


def test_rows_with_missing_values_go_to_the_estimator(tmp_path):
    """HistGradientBoosting learns where missing values go; the fast path is not asked to know."""
    import joblib

    noisy = X.mask(np.random.default_rng(0).random(X.shape) < 0.1)
    estimator = HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(noisy, Y)
    path = tmp_path / "hgb.joblib"
    joblib.dump(estimator, path)
    scorer = load_scorer(path)
    assert scorer._fast is not None
    rows = noisy.sample(200, random_state=1)
    np.testing.assert_array_equal(scorer.score(_frame(rows)).predictions, _reference(estimator, rows))


def test_an_estimator_no_compiler_takes_is_not_touched():
    from sklearn.neighbors import KNeighborsClassifier

    fitted = KNeighborsClassifier().fit(X, Y)
    assert accelerate(fitted, X.shape[1], np.empty((0, X.shape[1])), fitted.predict_proba) == (None, "")


def test_inspect_and_the_schema_say_which_path_serves(tmp_path, monkeypatch):
    import joblib

    from scoring_runtime.protocols.h2o import codec
    from tests.served import serve
    from tests.server_process import run_scorer

    path = tmp_path / "forest.joblib"
    joblib.dump(MODELS["random forest"](), path)
    report = json.loads(run_scorer("inspect", str(path)).stdout)
    assert any(note.startswith("served by treelite for requests of") for note in report["notes"])
    description = codec.schema_document(serve(path))["description"]
    assert description.startswith("scikit-learn RandomForestClassifier") and "served by treelite" in description
    monkeypatch.setenv("SCORER_ACCELERATE", "off")
    plain = json.loads(run_scorer("inspect", str(path)).stdout)
    assert not any("treelite" in note for note in plain["notes"]) and "treelite" not in plain["description"]


def test_the_stored_background_rows_are_verified_too(tmp_path):
    import joblib

    from scoring_runtime.runtimes.python.explain import background_file

    estimator = MODELS["random forest"]()
    path = tmp_path / "forest.joblib"
    joblib.dump(estimator, path)
    X.head(30).to_csv(background_file(path), index=False)
    assert load_scorer(path)._fast.rows == 2000 + 30


@pytest.mark.parametrize("kind", ["lightgbm", "lightgbm regressor"])
def test_large_lightgbm_requests_get_the_booster_s_own_numbers_without_the_wrapper(kind, tmp_path):
    """Past treelite's crossover the booster is called directly: the wrapper's numbers exactly,
    missing cells included (LightGBM sends them down its own default branches)."""
    import joblib

    estimator = MODELS[kind]()
    path = tmp_path / "model.joblib"
    joblib.dump(estimator, path)
    scorer = load_scorer(path)
    assert scorer._fast.large is not None
    assert "larger ones by LightGBM's booster without its wrapper" in scorer.info.description
    rows = X.sample(scorer._fast.max_rows + 300, replace=True, random_state=2)
    rows = rows.mask(np.random.default_rng(1).random(rows.shape) < 0.05)
    assert np.array_equal(scorer.score(_frame(rows)).predictions, _reference(estimator, rows))
