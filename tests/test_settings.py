from __future__ import annotations

from pathlib import Path

from app.settings import BUNDLED_MODEL, DEFAULT_MISSING_VALUES, Settings


def test_defaults_match_the_contract():
    settings = Settings(_env_file=None)
    assert settings.port == 8080 and settings.workers == 1
    assert settings.max_body_bytes == 64 * 1024 * 1024 and settings.max_rows == 100_000
    assert settings.missing_values == DEFAULT_MISSING_VALUES
    assert settings.model_path == BUNDLED_MODEL and BUNDLED_MODEL.is_file()


def test_h2o_scorer_variable_names_are_honoured(monkeypatch):
    monkeypatch.setenv("MODEL_ID", "my-model")
    monkeypatch.setenv("SHAPLEY_TYPES_ENABLED", "TRANSFORMED")
    settings = Settings(_env_file=None)
    assert settings.model_id == "my-model" and settings.shapley_types_enabled == "TRANSFORMED"


def test_scorer_prefixed_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SCORER_MODEL", str(tmp_path / "m.pkl"))
    monkeypatch.setenv("SCORER_MISSING_VALUES", "NA,?, -1")
    monkeypatch.setenv("SCORER_PATH_PREFIX", "deploy/")
    monkeypatch.setenv("SCORER_INVALID_NUMBERS_AS_MISSING", "true")
    settings = Settings(_env_file=None)
    assert settings.model_path == Path(tmp_path / "m.pkl")
    assert settings.missing_values == ("NA", "?", "-1")
    assert settings.path_prefix == "/deploy"
    assert settings.invalid_numbers_as_missing is True


def test_every_setting_is_documented():
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no docstring"
