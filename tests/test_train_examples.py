"""The bundled scikit-learn example model is what models/train_examples.py produces."""

from __future__ import annotations

import sys

import joblib
import numpy as np
import pandas as pd

from tests.server_process import REPO

sys.path.insert(0, str(REPO / "models"))
from train_examples import HYDRAULIC_FEATURES, train_hydraulic


def test_retraining_the_hydraulic_classifier_reproduces_the_committed_model(tmp_path):
    fresh = joblib.load(train_hydraulic(tmp_path))
    committed = joblib.load(REPO / "models" / "hydraulic" / "cool_cond_y.joblib")
    rows = pd.read_csv(REPO / "models" / "data" / "hydraulic.csv")[HYDRAULIC_FEATURES]
    np.testing.assert_array_equal(fresh.predict_proba(rows), committed.predict_proba(rows))
    assert (tmp_path / "cool_cond_y.joblib.schema.json").read_text() == (
        REPO / "models" / "hydraulic" / "cool_cond_y.joblib.schema.json"
    ).read_text()
