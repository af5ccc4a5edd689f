"""The pickle runtime against the estimators' own predictions, on real trained models."""

from __future__ import annotations

import json
import pickle

import cloudpickle
import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from scoring_runtime.core.errors import BadCell, ModelLoadError
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.types import Capability, DataType, ScoringType
from scoring_runtime.runtimes import load_scorer
from scoring_runtime.runtimes.options import LoadOptions
from tests.frames import OPTIONS, to_frame
from tests.model_builders import CREDIT_CATEGORICAL, CREDIT_NUMERIC, CREDIT_TARGET
from tests.server_process import REPO


def _as_request_table(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    return list(frame.columns), frame.astype(str).to_numpy().tolist()


def test_pipeline_schema_is_inferred_from_the_fitted_encoders(credit_model):
    scorer = load_scorer(credit_model)
    schema = scorer.schema
    assert schema.input_names == tuple(CREDIT_CATEGORICAL + CREDIT_NUMERIC)
    types = {f.name: f.data_type for f in schema.inputs}
    assert all(types[c] is DataType.STR for c in CREDIT_CATEGORICAL)
    assert all(types[c] is DataType.FLOAT64 for c in CREDIT_NUMERIC)
    assert {f.name: f.levels for f in schema.inputs}["SEX"] == ("1", "2")
    assert schema.output_names == (f"{CREDIT_TARGET}.0", f"{CREDIT_TARGET}.1")
    assert schema.scoring_type is ScoringType.BINOMIAL and schema.class_labels == ("0", "1")
    assert scorer.capabilities == {
        Capability.SCORE,
        Capability.CONTRIBUTION_ORIGINAL,
        Capability.CONTRIBUTION_TRANSFORMED,
    }
    assert "Pipeline(ColumnTransformer → GradientBoostingClassifier)" in scorer.info.description


def test_pipeline_scores_exactly_its_predict_proba(credit_model, credit_frame):
    scorer = load_scorer(credit_model)
    pipeline = joblib.load(credit_model)
    sample = credit_frame.sample(500, random_state=1)[CREDIT_CATEGORICAL + CREDIT_NUMERIC]
    fields, rows = _as_request_table(sample)
    frame, _ = to_frame(fields, rows, scorer.schema, OPTIONS)
    ours = scorer.score(frame).predictions
    expected = pipeline.predict_proba(sample)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12)


def test_categories_fitted_as_integers_receive_integers(credit_int_model, credit_frame):
    scorer = load_scorer(credit_int_model)
    assert {f.name: f.levels for f in scorer.schema.inputs}["MARRIAGE"] == ("0", "1", "2", "3")
    pipeline = joblib.load(credit_int_model)
    sample = credit_frame.head(200)[CREDIT_CATEGORICAL + CREDIT_NUMERIC]
    native = sample.copy()
    for column in CREDIT_CATEGORICAL:
        native[column] = native[column].astype(int)
    frame, _ = to_frame(*_as_request_table(sample), scorer.schema, OPTIONS)
    np.testing.assert_allclose(scorer.score(frame).predictions, pipeline.predict_proba(native), atol=1e-12)


def test_regressor_without_sidecar_outputs_target(pump_model):
    artifact, features = pump_model
    scorer = load_scorer(artifact)
    assert scorer.schema.scoring_type is ScoringType.REGRESSION
    assert scorer.schema.output_names == ("target",)
    frame, _ = to_frame(*_as_request_table(features.head(50)), scorer.schema, OPTIONS)
    expected = joblib.load(artifact).predict(features.head(50).astype(str).astype(float))
    np.testing.assert_allclose(scorer.score(frame).predictions[:, 0], expected, atol=1e-9)


@pytest.mark.parametrize("dump", [pickle.dump, cloudpickle.dump])
def test_plain_pickle_and_cloudpickle_files_load(tmp_path, pump_model, dump):
    model = joblib.load(pump_model[0])
    artifact = tmp_path / "model.pkl"
    with artifact.open("wb") as handle:
        dump(model, handle)
    assert load_scorer(artifact).schema.input_names == tuple(model.feature_names_in_)


def test_sidecar_wins_over_inference(tmp_path, pump_model):
    model = joblib.load(pump_model[0])
    artifact = tmp_path / "pump.joblib"
    joblib.dump(model, artifact)
    inputs = [{"name": n, "dataType": "Float32"} for n in reversed(model.feature_names_in_)]
    (tmp_path / "pump.joblib.schema.json").write_text(
        json.dumps({"inputFields": inputs, "targetFields": [{"name": "pump_eff", "dataType": "Float64"}]})
    )
    schema = load_scorer(artifact).schema
    assert schema.input_names == tuple(reversed(model.feature_names_in_))
    assert schema.inputs[0].data_type is DataType.FLOAT32
    assert schema.output_names == ("pump_eff",)


@pytest.mark.parametrize(
    ("sidecar", "fragment"),
    [
        ("{not json", "is not valid"),
        (json.dumps({"inputFields": [{"name": "a", "dataType": "Decimal"}]}), "'Decimal' of 'a' is not one of"),
        (json.dumps({"outputFields": [{"name": "a", "dataType": "Float64"}] * 2}), "repeats a field name"),
    ],
)
def test_bad_sidecar_is_a_load_error(tmp_path, pump_model, sidecar, fragment):
    artifact = tmp_path / "m.joblib"
    joblib.dump(joblib.load(pump_model[0]), artifact)
    (tmp_path / "m.joblib.schema.json").write_text(sidecar)
    with pytest.raises(ModelLoadError, match=fragment):
        load_scorer(artifact)


def test_model_without_feature_names_needs_a_sidecar(tmp_path):
    model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    artifact = tmp_path / "bare.pkl"
    joblib.dump(model, artifact)
    with pytest.raises(ModelLoadError, match=r"ship a schema sidecar bare\.pkl\.schema\.json"):
        load_scorer(artifact)
    (tmp_path / "bare.pkl.schema.json").write_text(json.dumps({"inputFields": [{"name": "x", "dataType": "Float64"}]}))
    scorer = load_scorer(artifact)
    frame = Frame({"x": np.array([0.0, 3.0])}, rows=2)
    np.testing.assert_allclose(scorer.score(frame).predictions, model.predict_proba(np.array([[0.0], [3.0]])))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"not a pickle at all", "is not a pickle this server can read"),
        (pickle.dumps({"a": 1}), "has no predict method"),
    ],
)
def test_unusable_pickles_are_load_errors(tmp_path, content, fragment):
    artifact = tmp_path / "m.pkl"
    artifact.write_bytes(content)
    with pytest.raises(ModelLoadError, match=fragment):
        load_scorer(artifact)


def test_a_pickle_needing_a_missing_package_names_it(tmp_path):
    artifact = tmp_path / "m.pkl"
    artifact.write_bytes(
        b"\x80\x04\x95\x1a\x00\x00\x00\x00\x00\x00\x00\x8c\x0enot_a_module_x\x94\x8c\x03Cls\x94\x93\x94."
    )
    with pytest.raises(ModelLoadError, match="needs the Python package 'not_a_module_x', which is not installed"):
        load_scorer(artifact)


def test_a_missing_value_a_model_cannot_take_is_the_callers_error_naming_the_cell():
    artifact = REPO / "models" / "hydraulic" / "cool_cond_y.joblib"
    scorer = load_scorer(artifact)
    fields = list(scorer.schema.input_names)
    rows = [["1.0"] * len(fields), ["1.0"] * len(fields)]
    rows[1][3] = "NA"
    frame, _ = to_frame(fields, rows, scorer.schema, OPTIONS)
    with pytest.raises(BadCell, match=rf"^Field '{fields[3]}' in row 1 is missing, and this model \(GradientBoosting"):
        scorer.score(frame)


def test_a_big_request_scored_in_slices_equals_one_call(monkeypatch, credit_model, credit_frame, pump_model):
    """Slices keep the GIL to a few milliseconds a call; the numbers must be the ones a single call
    gives, to the bit, for a classifier fed a DataFrame and a regressor."""
    from scoring_runtime.runtimes.python import pickled

    monkeypatch.setattr(pickled, "SLICE_ROWS", 64)
    sample = credit_frame.sample(500, random_state=2)[CREDIT_CATEGORICAL + CREDIT_NUMERIC]
    scorer = load_scorer(credit_model)
    calls = []
    original = scorer.estimator.predict_proba
    monkeypatch.setattr(scorer.estimator, "predict_proba", lambda x: calls.append(len(x)) or original(x))
    frame, _ = to_frame(*_as_request_table(sample), scorer.schema, OPTIONS)
    np.testing.assert_array_equal(scorer.score(frame).predictions, joblib.load(credit_model).predict_proba(sample))
    assert calls == [64] * 7 + [52]
    artifact, features = pump_model
    regressor = load_scorer(artifact, LoadOptions(accelerate=False))  # else 300 rows go to treelite
    frame, _ = to_frame(*_as_request_table(features.head(300)), regressor.schema, OPTIONS)
    expected = joblib.load(artifact).predict(features.head(300).astype(str).astype(float))
    np.testing.assert_array_equal(regressor.score(frame).predictions[:, 0], expected)


def test_only_scikit_learn_estimators_are_sliced(credit_model):
    from scoring_runtime.runtimes.python import pickled

    assert pickled._row_wise(joblib.load(credit_model))
    assert not pickled._row_wise(LogisticRegression) and not pickled._row_wise(object())


def test_a_missing_value_in_a_later_slice_names_its_row(monkeypatch):
    from scoring_runtime.runtimes.python import pickled

    monkeypatch.setattr(pickled, "SLICE_ROWS", 64)
    scorer = load_scorer(REPO / "models" / "hydraulic" / "cool_cond_y.joblib")
    fields = list(scorer.schema.input_names)
    rows = [["1.0"] * len(fields) for _ in range(300)]
    rows[250][2] = "NA"
    frame, _ = to_frame(fields, rows, scorer.schema, OPTIONS)
    with pytest.raises(BadCell, match=rf"^Field '{fields[2]}' in row 250 is missing"):
        scorer.score(frame)
