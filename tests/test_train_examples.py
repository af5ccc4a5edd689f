"""The bundled scikit-learn example model is what models/train_examples.py produces."""

from __future__ import annotations

import sys

import joblib
import numpy as np
import pandas as pd

from tests.server_process import REPO

sys.path.insert(0, str(REPO / "models"))
from train_examples import HYDRAULIC_FEATURES, train_credit_source, train_hydraulic


def test_retraining_the_hydraulic_classifier_reproduces_the_committed_model(tmp_path):
    fresh = joblib.load(train_hydraulic(tmp_path))
    committed = joblib.load(REPO / "models" / "hydraulic" / "cool_cond_y.joblib")
    rows = pd.read_csv(REPO / "models" / "data" / "hydraulic.csv")[HYDRAULIC_FEATURES]
    np.testing.assert_array_equal(fresh.predict_proba(rows), committed.predict_proba(rows))
    assert (tmp_path / "cool_cond_y.joblib.schema.json").read_text() == (
        REPO / "models" / "hydraulic" / "cool_cond_y.joblib.schema.json"
    ).read_text()


def test_the_model_sources_own_train_function_reproduces_its_committed_attachment(tmp_path, capsys):
    fresh = joblib.load(train_credit_source(tmp_path))
    committed = joblib.load(REPO / "models" / "credit-source" / "credit_lr.pkl")
    rows = pd.read_csv(REPO / "models" / "data" / "creditcard.csv", nrows=2000)
    features = [c for c in rows.columns if c not in ("ID", "default payment next month")]
    np.testing.assert_array_equal(
        fresh.predict_proba(rows[features].to_numpy(dtype=float)),
        committed.predict_proba(rows[features].to_numpy(dtype=float)),
    )
    assert capsys.readouterr().out == f"{tmp_path / 'credit_lr.pkl'}\n"
