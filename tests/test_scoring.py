"""The scoring service's order of operations, on a real pickled pipeline, without HTTP."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import joblib
import numpy as np
import pytest

from app.errors import BadRequest
from app.schemas import ContributionRequest, ScoreRequest
from app.scoring import ScoringService, effective_capabilities
from app.settings import Settings
from runtimes import load_scorer
from runtimes.base import Capability, ShapleyKind
from tests.model_builders import CREDIT_CATEGORICAL, CREDIT_NUMERIC, CREDIT_TARGET

INPUTS = CREDIT_CATEGORICAL + CREDIT_NUMERIC


@pytest.fixture(scope="module")
def service(credit_model) -> ScoringService:
    """Shapley values switched off, so the unsupported paths can be checked."""
    return ScoringService(load_scorer(credit_model), Settings(_env_file=None, shapley_types_enabled="NONE"))


def _request(frame, **extra) -> ScoreRequest:
    fields = ["ID", *reversed(INPUTS)]
    rows = frame[fields].astype(str).to_numpy().tolist()
    return ScoreRequest(fields=fields, rows=rows, **extra)


def test_scores_equal_predict_proba_whatever_the_order_and_extras(service, credit_model, credit_frame):
    sample = credit_frame.sample(300, random_state=3)
    body = service.score(_request(sample))
    assert body["fields"] == [f"{CREDIT_TARGET}.0", f"{CREDIT_TARGET}.1"]
    got = np.array(body["score"], dtype=float)
    expected = joblib.load(credit_model).predict_proba(sample[INPUTS])
    assert np.abs(got - expected).max() <= 1e-9
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-12)


def test_include_fields_id_generation_and_no_field_names(service, credit_frame):
    sample = credit_frame.head(3)
    body = service.score(_request(sample, include_fields_in_output=["rid", "SEX", "ID"], id_field="rid"))
    assert body["fields"][:3] == ["ID", "SEX", "rid"]
    assert [row[0] for row in body["score"]] == sample["ID"].astype(str).tolist()
    assert all(uuid.UUID(row[2]).version == 4 for row in body["score"])
    quiet = service.score(_request(sample, no_field_names_in_output=True))
    assert "fields" not in quiet and len(quiet["score"][0]) == 2


def test_unsupported_flags_name_what_is_supported(service, credit_frame):
    with pytest.raises(BadRequest, match="does not offer ORIGINAL Shapley values; it supports none"):
        service.score(_request(credit_frame.head(1), request_shapley_value_type="ORIGINAL"))
    with pytest.raises(BadRequest, match="does not offer prediction intervals; its capabilities are SCORE"):
        service.score(_request(credit_frame.head(1), request_prediction_intervals=True))
    with pytest.raises(BadRequest, match="must be ORIGINAL or TRANSFORMED on /model/contribution"):
        service.contribution(
            ContributionRequest(fields=INPUTS, rows=[["1"] * len(INPUTS)], request_shapley_value_type="NONE")
        )


def test_model_id_prefers_the_setting(credit_model):
    scorer = load_scorer(credit_model)
    assert ScoringService(scorer, Settings(_env_file=None, model_id="abc")).model_id == "abc"
    assert ScoringService(scorer, Settings(_env_file=None)).model_id == scorer.info.artifact_id


def test_self_check_scores_the_sample_request(service):
    assert service.self_check() is True


@pytest.mark.parametrize(
    ("enabled", "expected"),
    [
        ("ALL", {"SCORE", "CONTRIBUTION_ORIGINAL", "CONTRIBUTION_TRANSFORMED"}),
        ("ORIGINAL", {"SCORE", "CONTRIBUTION_ORIGINAL"}),
        ("TRANSFORMED", {"SCORE", "CONTRIBUTION_TRANSFORMED"}),
        ("NONE", {"SCORE"}),
    ],
)
def test_shapley_types_enabled_narrows_capabilities(enabled, expected):
    offered = frozenset({Capability.SCORE, Capability.CONTRIBUTION_ORIGINAL, Capability.CONTRIBUTION_TRANSFORMED})
    scorer = SimpleNamespace(capabilities=offered, schema=SimpleNamespace(media_fields=(), augmentations=()))
    kinds = Settings(_env_file=None, shapley_types_enabled=enabled).shapley_kinds
    assert {c.value for c in effective_capabilities(scorer, kinds)} == expected
    assert kinds <= frozenset(ShapleyKind)
