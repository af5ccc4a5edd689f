"""What a served model decides from its settings, and its self-check, on a real pickled pipeline."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from scoring_runtime.core.errors import InvalidInput
from scoring_runtime.core.model import ScoreOptions, effective_capabilities
from scoring_runtime.core.types import Capability, ShapleyKind
from scoring_runtime.runtimes import load_scorer
from scoring_runtime.settings import ModelSettings
from tests.served import serve


def test_model_id_prefers_the_setting(credit_model):
    scorer = load_scorer(credit_model)
    assert serve(scorer, model_id="abc").model_id == "abc"
    assert serve(scorer).model_id == scorer.info.artifact_id


def test_self_check_scores_the_sample_request(credit_model):
    assert serve(credit_model).self_check() is True


def test_options_a_model_does_not_offer_are_refused_naming_what_it_offers(credit_model):
    model = serve(credit_model, shapley_types_enabled="ORIGINAL")
    model.check(ScoreOptions(shapley=ShapleyKind.ORIGINAL))
    with pytest.raises(InvalidInput, match="does not offer TRANSFORMED Shapley values; it supports ORIGINAL"):
        model.check(ScoreOptions(shapley=ShapleyKind.TRANSFORMED))
    with pytest.raises(InvalidInput, match="does not offer test-time augmentation"):
        model.check(ScoreOptions(augment=True))


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
    kinds = ModelSettings(_env_file=None, shapley_types_enabled=enabled).shapley_kinds
    assert {c.value for c in effective_capabilities(scorer, kinds)} == expected
    assert kinds <= frozenset(ShapleyKind)


def test_shapley_enable_false_turns_every_type_off(monkeypatch):
    monkeypatch.setenv("SHAPLEY_ENABLE", "false")
    monkeypatch.setenv("SHAPLEY_TYPES_ENABLED", "ALL")
    assert ModelSettings(_env_file=None).shapley_kinds == frozenset()
    monkeypatch.setenv("SHAPLEY_ENABLE", "true")
    assert ModelSettings(_env_file=None).shapley_kinds == frozenset(ShapleyKind)
