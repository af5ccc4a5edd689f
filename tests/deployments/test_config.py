"""The deployments file: what reads, and the one sentence for each thing that does not."""

from __future__ import annotations

import json

import pytest

from scoring_runtime.core.errors import ConfigError
from scoring_runtime.deployments.config import read_deployments


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "a.joblib").write_bytes(b"x")
    (tmp_path / "b.joblib").write_bytes(b"x")
    return tmp_path


def test_paths_are_relative_to_the_file_and_members_list_the_answering_model_first(folder):
    path = folder / "d.yaml"
    path.write_text(
        "models:\n  a: {path: a.joblib, id: model-a}\n  b: {path: b.joblib}\n"
        "deployments:\n  ab: {ab: {b: 30, a: 70}}\n  cc: {champion: a, challengers: [b]}\n  one: {model: b}\n"
    )
    config = read_deployments(path)
    assert config.models["a"].path == folder / "a.joblib" and config.models["a"].id == "model-a"
    assert config.members("ab") == ("b", "a") and config.members("cc") == ("a", "b") and config.members("one") == ("b",)


def test_json_reads_the_same(folder):
    path = folder / "d.json"
    path.write_text(json.dumps({"models": {"a": {"path": "a.joblib"}}, "deployments": {"d": {"model": "a"}}}))
    assert read_deployments(path).members("d") == ("a",)


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("models: [", "is not valid YAML"),
        ("models: {}", "needs a 'models' mapping"),
        ("models:\n  a: {path: a.joblib}\n  a: {path: b.joblib}\n", "the name 'a' is used twice (line 3)"),
        ("models:\n  'a b': {path: a.joblib}\n", "may use only letters"),
        ("models:\n  a: {path: a.joblib, colour: red}\n", "model 'a': 'colour' is not a setting it takes"),
        ("models:\n  a: {path: missing.joblib}\n", "the artifact"),
        (
            "models:\n  a: {path: a.joblib}\ndeployments:\n  d: {ab: {a: 1.5}}\n",
            "the weight of 'a' must be a positive integer",
        ),
        ("models:\n  a: {path: a.joblib}\ndeployments:\n  d: {ab: {a: true}}\n", "positive integer, not True"),
        (
            "models:\n  a: {path: a.joblib}\ndeployments:\n  d: {model: a, champion: a}\n",
            "exactly one of model, ab or champion",
        ),
        (
            "models:\n  a: {path: a.joblib}\ndeployments:\n  d: {model: a, challengers: [a]}\n",
            "challengers but no champion",
        ),
        (
            "models:\n  a: {path: a.joblib}\ndeployments:\n  d: {champion: a, challengers: [a]}\n",
            "the same model twice",
        ),
        ("models:\n  a: {path: a.joblib}\ndeployments:\n  a: {model: a}\n", "used by a model and a deployment"),
        ("models:\n  a: {path: a.joblib}\nextra: 1\n", "unknown top-level key 'extra'"),
    ],
)
def test_each_problem_is_one_sentence_naming_the_file(folder, text, sentence):
    path = folder / "d.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        read_deployments(path)
    message = str(raised.value)
    assert sentence in message and str(path) in message and "\n" not in message


def test_a_missing_file_is_one_sentence(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_deployments(tmp_path / "nope.yaml")
