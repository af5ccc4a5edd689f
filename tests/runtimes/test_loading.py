"""Artifact detection, hash pinning and the messages for what cannot be loaded."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from scoring_runtime.core.errors import ModelLoadError
from scoring_runtime.runtimes import load_adapter, load_scorer, resolve_runtime
from scoring_runtime.runtimes.artifacts import detect_runtime, sha256_of, stable_id
from scoring_runtime.runtimes.options import LoadOptions


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


@pytest.mark.parametrize(
    ("name", "members", "runtime"),
    [
        ("gbm.zip", {"model.ini": b"[info]", "trees/t00.bin": b""}, "h2o3_mojo"),
        ("mojo.zip", {"mojo-pipeline/pipeline.mojo": b"", "mojo-pipeline/license.sig": b""}, "dai_mojo"),
        ("flat.zip", {"pipeline.mojo": b""}, "dai_mojo"),
        ("mlflow.zip", {"model/MLmodel": b"flavors: {}", "model/model.pkl": b""}, "mlflow"),
        ("rootml.zip", {"MLmodel": b"flavors: {}"}, "mlflow"),
        ("other.zip", {"readme.txt": b"hi"}, None),
    ],
)
def test_detects_zip_artifacts(tmp_path, name, members, runtime):
    assert detect_runtime(_zip(tmp_path / name, members)) == runtime


@pytest.mark.parametrize(
    ("layout", "runtime"),
    [
        ({"model.ini": ""}, "h2o3_mojo"),
        ({"MLmodel": ""}, "mlflow"),
        ({"mojo-pipeline/pipeline.mojo": ""}, "dai_mojo"),
        ({"pipeline.mojo": ""}, "dai_mojo"),
        ({"notes.md": ""}, None),
    ],
)
def test_detects_folders(tmp_path, layout, runtime):
    for relative, content in layout.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(content)
    assert detect_runtime(tmp_path) == runtime


@pytest.mark.parametrize(
    ("filename", "runtime"),
    [("m.pkl", "pickle"), ("m.PICKLE", "pickle"), ("m.joblib", "pickle"), ("pipeline.mojo", "dai_mojo")],
)
def test_detects_files_by_name(tmp_path, filename, runtime):
    (tmp_path / filename).write_bytes(b"x")
    assert detect_runtime(tmp_path / filename) == runtime


def test_unknown_artifact_lists_what_is_accepted(tmp_path):
    (tmp_path / "model.txt").write_text("hello")
    with pytest.raises(ModelLoadError) as caught:
        resolve_runtime(tmp_path / "model.txt", LoadOptions())
    message = str(caught.value)
    assert "is not a model artifact" in message
    for accepted in ("model.ini", "pipeline.mojo", "MLmodel", ".joblib"):
        assert accepted in message


def test_missing_artifact_and_unknown_runtime_are_one_sentence(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        resolve_runtime(tmp_path / "absent.pkl", LoadOptions())
    (tmp_path / "m.pkl").write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="Unknown runtime 'tensorflow'; choose one of"):
        resolve_runtime(tmp_path / "m.pkl", LoadOptions(runtime="tensorflow"))


@pytest.mark.parametrize(
    ("name", "runtime"),
    [
        ("h2o3/mojo", "h2o3_mojo"), ("h2o3_mojo_runtime", "h2o3_mojo"), ("dai/mojo_pipeline", "dai_mojo"),
        ("dai_mojo_runtime", "dai_mojo"), ("dai-mojo-cpp_experimental", "dai_mojo"), ("python/mlflow", "mlflow"),
        ("python/pickle", "pickle"), (" Pickle ", "pickle"), ("model_source", "model_source"),
    ],
)  # fmt: skip
def test_h2o_mlops_artifact_and_runtime_names_mean_our_runtimes(tmp_path, name, runtime):
    (tmp_path / "model.bin").write_bytes(b"x")
    assert resolve_runtime(tmp_path / "model.bin", LoadOptions(runtime=name)) == runtime


def test_the_dai_python_scoring_pipeline_is_refused_with_what_to_use_instead(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"x")
    with pytest.raises(ModelLoadError, match=r"not supported; export the MOJO pipeline \(dai/mojo_pipeline\)"):
        resolve_runtime(tmp_path / "model.bin", LoadOptions(runtime="dai/scoring_pipeline"))


def test_runtime_override_wins_over_detection(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"x")
    assert resolve_runtime(tmp_path / "model.bin", LoadOptions(runtime="pickle")) == "pickle"


def test_runtime_whose_dependency_is_missing_names_the_pip_install(monkeypatch):
    import importlib

    real = importlib.import_module

    def fake_import(name: str, *args: object) -> object:
        if name == "scoring_runtime.runtimes.python.mlflow_model":
            raise ModuleNotFoundError("No module named 'mlflow'", name="mlflow")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", fake_import)
    with pytest.raises(ModelLoadError) as caught:
        load_adapter("mlflow")
    assert "pip install 'scoring-runtime[mlflow]'" in str(caught.value)
    assert "'mlflow'" in str(caught.value)


def test_sha256_pin_refuses_a_changed_artifact_before_unpickling(tmp_path):
    artifact = tmp_path / "evil.pkl"
    artifact.write_bytes(b"cos\nsystem\n(S'touch should-not-exist'\ntR.")
    with pytest.raises(ModelLoadError, match="refusing to load it"):
        load_scorer(artifact, LoadOptions(expected_sha256="0" * 64))
    assert not (tmp_path / "should-not-exist").exists()


def test_sha256_pin_accepts_the_right_hash(default_model):
    digest = hashlib.sha256(default_model.read_bytes()).hexdigest()
    scorer = load_scorer(default_model, LoadOptions(expected_sha256=digest.upper()))
    assert scorer.info.runtime == "h2o3_mojo"


def test_folder_digest_and_stable_id_change_with_content(tmp_path):
    (tmp_path / "a").write_text("1")
    first = sha256_of(tmp_path)
    first_id = stable_id(tmp_path)
    (tmp_path / "a").write_text("2")
    assert sha256_of(tmp_path) != first and stable_id(tmp_path) != first_id
    assert len(first_id) == 36


def test_a_folder_holding_one_artifact_stands_for_it(tmp_path, default_model):
    import shutil

    shutil.copy(default_model, tmp_path / default_model.name)
    assert load_scorer(tmp_path).info.name == "cool_cond_y"
    (tmp_path / "other.pkl").write_bytes(b"x")
    with pytest.raises(ModelLoadError, match=r"holds 2 model artifacts \(cool_cond_y.zip, other.pkl\); name the one"):
        load_scorer(tmp_path)
