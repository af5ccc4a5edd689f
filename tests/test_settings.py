from __future__ import annotations

from pathlib import Path

import pytest

from scoring_runtime.settings import DEFAULT_MISSING_VALUES, ModelSettings, ServerSettings, bundled_model, load_settings


def test_defaults_match_the_contract():
    settings = load_settings()
    assert settings.server.port == 8080 and settings.server.workers == 1
    assert settings.server.max_body_bytes == 64 * 1024 * 1024 and settings.model.max_rows == 100_000
    assert settings.model.missing_values == DEFAULT_MISSING_VALUES
    assert settings.model.model_path == bundled_model() and bundled_model().is_file()


def test_h2o_scorer_variable_names_are_honoured(monkeypatch):
    monkeypatch.setenv("MODEL_ID", "my-model")
    monkeypatch.setenv("SHAPLEY_TYPES_ENABLED", "TRANSFORMED")
    monkeypatch.setenv("JAVA_HOME", "/opt/java")
    monkeypatch.setenv("DRIVERLESS_AI_LICENSE_FILE", "/license/license.sig")
    settings = load_settings()
    assert settings.model.model_id == "my-model" and settings.model.shapley_types_enabled == "TRANSFORMED"
    assert settings.server.java_home == Path("/opt/java")
    assert settings.model.dai_license_file == Path("/license/license.sig")


def test_scorer_prefixed_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SCORER_MODEL", str(tmp_path / "m.pkl"))
    monkeypatch.setenv("SCORER_MISSING_VALUES", "NA,?, -1")
    monkeypatch.setenv("SCORER_PATH_PREFIX", "deploy/")
    monkeypatch.setenv("SCORER_INVALID_NUMBERS_AS_MISSING", "true")
    settings = load_settings()
    assert settings.model.model_path == Path(tmp_path / "m.pkl")
    assert settings.model.missing_values == ("NA", "?", "-1")
    assert settings.server.path_prefix == "/deploy"
    assert settings.model.invalid_numbers_as_missing is True


def test_overrides_go_to_the_settings_that_own_them(monkeypatch):
    monkeypatch.setenv("SCORER_PORT", "9000")
    settings = load_settings(port=9100, runtime="pickle")
    assert settings.server.port == 9100 and settings.model.runtime == "pickle"
    with pytest.raises(TypeError, match="unknown settings"):
        load_settings(nonsense=1)


def test_server_and_model_settings_do_not_overlap():
    assert not set(ServerSettings.model_fields) & set(ModelSettings.model_fields)


@pytest.mark.parametrize("kind", [ServerSettings, ModelSettings])
def test_every_setting_is_documented(kind):
    for name, field in kind.model_fields.items():
        assert field.description, f"{name} has no docstring"
