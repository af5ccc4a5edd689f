"""treelite's walker bound once: the same numbers as `treelite.gtil.predict`, for as long as it lives."""

from __future__ import annotations

import gc

import numpy as np
import pytest
import treelite.gtil
import treelite.sklearn
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier, RandomForestRegressor

from scoring_runtime.runtimes.python.treelite_predict import bound_predict


def _estimators() -> list[tuple[object, np.ndarray]]:
    x, y = make_classification(n_samples=300, n_features=8, n_informative=5, n_classes=3, random_state=0)
    xr, yr = make_regression(n_samples=300, n_features=8, random_state=0)
    return [
        (GradientBoostingClassifier(n_estimators=20, random_state=0).fit(x, y), x),
        (RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0).fit(x, y), x),
        (RandomForestRegressor(n_estimators=10, max_depth=6, random_state=0).fit(xr, yr), xr),
    ]


@pytest.mark.parametrize("index", range(3))
def test_bound_predict_answers_what_gtil_predict_does(index: int):
    estimator, x = _estimators()[index]
    model = treelite.sklearn.import_model(estimator)
    predict = bound_predict(model)
    for rows in (x[:1], x[:257], np.asfortranarray(x[:40])):
        expected = treelite.gtil.predict(model, np.ascontiguousarray(rows), nthread=1)
        assert np.array_equal(predict(rows), expected)


def test_the_bound_walker_keeps_its_model_alive():
    estimator, x = _estimators()[0]
    model = treelite.sklearn.import_model(estimator)
    expected = treelite.gtil.predict(model, x[:5], nthread=1)
    predict = bound_predict(model)
    del model
    gc.collect()
    assert np.array_equal(predict(x[:5]), expected)
