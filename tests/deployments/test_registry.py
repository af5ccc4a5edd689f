"""The registry with real pickles: a reload swaps beside the old model, which closes only after
its last request; a failed load changes nothing; an unloaded model's deployments are not ready."""

from __future__ import annotations

import re

import pytest

from scoring_runtime.core.errors import InvalidInput, ModelLoadError, NotFound, NotReady
from scoring_runtime.deployments.config import Deployments, ModelEntry, read_deployments
from scoring_runtime.deployments.registry import ModelRegistry
from scoring_runtime.deployments.shadow import NO_SHADOW
from tests.served import serve


@pytest.fixture
def setup(tmp_path, credit_model):
    path = tmp_path / "d.yaml"
    path.write_text(f"models:\n  m: {{path: {credit_model}}}\ndeployments:\n  d: {{model: m}}\n")
    closed: list[int] = []
    broken = {"now": False}

    def load(name: str, entry: ModelEntry):
        if broken["now"]:
            raise ModelLoadError("the artifact is broken.")
        model = serve(entry.path)
        model.close = lambda model=model: closed.append(id(model))  # type: ignore[method-assign]
        return model

    registry = ModelRegistry(load, NO_SHADOW)
    registry.start(read_deployments(path))
    return registry, read_deployments(path), closed, broken


def test_a_reload_closes_the_old_model_after_its_last_request(setup):
    registry, config, closed, _ = setup
    deployment = registry.deployment("d")
    with registry.answer(deployment) as held:
        registry.load("m", config)
        assert registry.primary(deployment) is not held.model
        assert closed == []
    assert closed == [id(held.model)]


def test_a_failed_load_keeps_the_old_model(setup):
    registry, config, closed, broken = setup
    before = registry.primary(registry.deployment("d"))
    broken["now"] = True
    with pytest.raises(InvalidInput, match="still serves: the artifact is broken"):
        registry.load("m", config)
    assert registry.primary(registry.deployment("d")) is before and closed == [] and registry.ready


def test_unload_then_load(setup):
    registry, config, _, _ = setup
    registry.unload("m")
    with pytest.raises(NotReady, match="'m' is unloaded"):
        registry.primary(registry.deployment("d"))
    assert not registry.ready and registry.index()[0]["state"] == "UNAVAILABLE"
    registry.load("m", config)
    assert registry.ready and registry.index()[0]["state"] == "READY"


def test_the_root_and_unknown_names(setup, credit_model):
    registry, _, _, _ = setup
    assert registry.deployment(None).name == "d"
    with pytest.raises(NotFound, match="There is no deployment or model 'x'; this server serves d"):
        registry.deployment("x")
    several = ModelRegistry(lambda name, entry: serve(entry.path), NO_SHADOW)
    several.start(Deployments({n: ModelEntry(path=credit_model) for n in ("a", "b")}))
    with pytest.raises(NotFound, match=re.escape("address one as /<deployment>/...: a, b")):
        several.deployment(None)
