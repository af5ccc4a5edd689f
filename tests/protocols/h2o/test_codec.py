"""The H2O API's answers over the core, on a real pickled pipeline, without HTTP."""

from __future__ import annotations

import uuid

import joblib
import numpy as np
import pytest

from scoring_runtime.core.errors import InvalidInput
from scoring_runtime.core.model import ServedModel
from scoring_runtime.protocols.h2o import codec
from scoring_runtime.protocols.h2o.wire import ContributionRequest, ScoreRequest
from tests.model_builders import CREDIT_CATEGORICAL, CREDIT_NUMERIC, CREDIT_TARGET
from tests.served import contribution, score, serve

INPUTS = CREDIT_CATEGORICAL + CREDIT_NUMERIC


@pytest.fixture(scope="module")
def service(credit_model) -> ServedModel:
    """Shapley values switched off, so the unsupported paths can be checked."""
    return serve(credit_model, shapley_types_enabled="NONE")


def _request(frame, **extra) -> ScoreRequest:
    fields = ["ID", *reversed(INPUTS)]
    rows = frame[fields].astype(str).to_numpy().tolist()
    return ScoreRequest(fields=fields, rows=rows, **extra)


def test_scores_equal_predict_proba_whatever_the_order_and_extras(service, credit_model, credit_frame):
    sample = credit_frame.sample(300, random_state=3)
    body = score(service, _request(sample))
    assert body["fields"] == [f"{CREDIT_TARGET}.0", f"{CREDIT_TARGET}.1"]
    got = np.array(body["score"], dtype=float)
    expected = joblib.load(credit_model).predict_proba(sample[INPUTS])
    assert np.abs(got - expected).max() <= 1e-9
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-12)


def test_include_fields_id_generation_and_no_field_names(service, credit_frame):
    sample = credit_frame.head(3)
    body = score(service, _request(sample, include_fields_in_output=["rid", "SEX", "ID"], id_field="rid"))
    assert body["fields"][:3] == ["ID", "SEX", "rid"]
    assert [row[0] for row in body["score"]] == sample["ID"].astype(str).tolist()
    assert all(uuid.UUID(row[2]).version == 4 for row in body["score"])
    quiet = score(service, _request(sample, no_field_names_in_output=True))
    assert "fields" not in quiet and len(quiet["score"][0]) == 2


def test_unsupported_flags_name_what_is_supported(service, credit_frame):
    with pytest.raises(InvalidInput, match="does not offer ORIGINAL Shapley values; it supports none"):
        score(service, _request(credit_frame.head(1), request_shapley_value_type="ORIGINAL"))
    with pytest.raises(InvalidInput, match="does not offer prediction intervals; its capabilities are SCORE"):
        score(service, _request(credit_frame.head(1), request_prediction_intervals=True))
    with pytest.raises(InvalidInput, match="must be ORIGINAL or TRANSFORMED on /model/contribution"):
        contribution(
            service, ContributionRequest(fields=INPUTS, rows=[["1"] * len(INPUTS)], request_shapley_value_type="NONE")
        )


def test_sample_request_and_schema_document(service):
    sample = codec.sample_request(service)
    assert sample["fields"] == list(service.schema.input_names) and len(sample["rows"]) == 1
    assert score(service, ScoreRequest.model_validate(sample))["score"]
    document = codec.schema_document(service)
    assert document["properties"]["scoringType"] == "BINOMIAL"
    assert [f["name"] for f in document["schema"]["inputFields"]] == list(service.schema.input_names)
    assert all(set(f) == {"name", "dataType"} for f in document["schema"]["inputFields"])  # the contract's shape


def test_schema_levels_extension_lists_each_categorical_input_s_levels(service, credit_frame):
    fields = {f["name"]: f for f in codec.schema_document(service, levels=True)["schema"]["inputFields"]}
    for name in CREDIT_CATEGORICAL:
        assert set(fields[name]["levels"]) == set(credit_frame[name].astype(str))
    assert all("levels" not in fields[name] for name in CREDIT_NUMERIC)
