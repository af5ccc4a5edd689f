"""The MLflow runtime against the models' own pyfunc / native outputs, on real models saved here."""

from __future__ import annotations

import base64
import platform
import shutil
import zipfile

import joblib
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from mlflow.models import ModelSignature, infer_signature
from mlflow.types import ColSpec, Schema, TensorSpec

from scoring_runtime.core.errors import ModelLoadError
from scoring_runtime.core.types import Capability, DataType, ScoringType
from scoring_runtime.runtimes import load_scorer
from tests.frames import OPTIONS, to_frame
from tests.model_builders import CREDIT_CATEGORICAL, CREDIT_NUMERIC
from tests.server_process import REPO

INPUTS = CREDIT_CATEGORICAL + CREDIT_NUMERIC
DIGITS = REPO / "models" / "digits"


def _frame(scorer, table: pd.DataFrame):
    frame, _ = to_frame(list(table.columns), table.astype(str).to_numpy().tolist(), scorer.schema, OPTIONS)
    return frame


@pytest.fixture(scope="module")
def sklearn_mlflow_model(tmp_path_factory, credit_model, credit_frame):
    """The credit pipeline saved with MLflow's scikit-learn flavor and a signature naming the output."""
    pipeline = joblib.load(credit_model)
    features = credit_frame[INPUTS].head(200)
    folder = tmp_path_factory.mktemp("mlflow") / "credit"
    signature = infer_signature(features, pd.Series(pipeline.predict(features), name="default"))
    mlflow.sklearn.save_model(
        pipeline,
        str(folder),
        signature=signature,
        input_example=features.head(2),
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
    )
    return folder


def test_sklearn_flavor_scores_native_probabilities_under_h2o_names(sklearn_mlflow_model, credit_frame):
    scorer = load_scorer(sklearn_mlflow_model)
    assert scorer.info.runtime == "mlflow" and "sklearn" in scorer.info.description
    assert scorer.schema.output_names == ("default.0", "default.1")
    assert scorer.schema.scoring_type is ScoringType.BINOMIAL
    assert {f.name: f.levels for f in scorer.schema.inputs}["SEX"] == ("1", "2")
    sample = credit_frame[INPUTS].sample(300, random_state=5)
    native = mlflow.sklearn.load_model(str(sklearn_mlflow_model))
    got = scorer.score(_frame(scorer, sample)).predictions
    assert np.abs(got - native.predict_proba(sample)).max() <= 1e-9


def test_a_zipped_model_scores_the_same(sklearn_mlflow_model, credit_frame, tmp_path):
    archive = tmp_path / "mlflow.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sklearn_mlflow_model.rglob("*"):
            bundle.write(path, f"model/{path.relative_to(sklearn_mlflow_model)}")
    zipped, folder = load_scorer(archive), load_scorer(sklearn_mlflow_model)
    assert zipped.info.name == "mlflow"
    sample = credit_frame[INPUTS].head(50)
    np.testing.assert_array_equal(
        zipped.score(_frame(zipped, sample)).predictions, folder.score(_frame(folder, sample)).predictions
    )


class _Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context: object, model_input: pd.DataFrame, params: dict | None = None) -> np.ndarray:
        return (model_input["x"] * 2 + model_input["n"]).to_numpy()


class _Table(mlflow.pyfunc.PythonModel):
    def predict(self, context: object, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        return pd.DataFrame({"low": model_input["x"] - 1, "high": model_input["x"] + 1})


def test_custom_pythonmodel_outputs_follow_the_pyfunc(tmp_path):
    example = pd.DataFrame({"x": [1.5, 2.0], "n": [1, 2]})
    mlflow.pyfunc.save_model(str(tmp_path / "doubler"), python_model=_Doubler(), input_example=example)
    scorer = load_scorer(tmp_path / "doubler")
    assert scorer.schema.output_names == ("target",)  # a 1-D array without output signature
    assert {f.name: f.data_type for f in scorer.schema.inputs} == {"x": DataType.FLOAT64, "n": DataType.INT64}
    table = pd.DataFrame({"x": [0.25, 10.0, -3.0], "n": [1, 0, 7]})
    own = mlflow.pyfunc.load_model(str(tmp_path / "doubler")).predict(table)
    np.testing.assert_allclose(scorer.score(_frame(scorer, table)).predictions[:, 0], own, atol=1e-12)
    mlflow.pyfunc.save_model(str(tmp_path / "table"), python_model=_Table(), input_example=example[["x"]])
    assert load_scorer(tmp_path / "table").schema.output_names == ("low", "high")


def test_signature_types_map_to_api_types(tmp_path):
    columns = [
        ("boolean", "b"),
        ("integer", "i"),
        ("long", "l"),
        ("float", "f"),
        ("double", "d"),
        ("string", "s"),
        ("datetime", "t"),
        ("binary", "m"),
    ]
    signature = ModelSignature(
        inputs=Schema([ColSpec(t, n) for t, n in columns]), outputs=Schema([ColSpec("double", "y")])
    )
    mlflow.pyfunc.save_model(str(tmp_path / "typed"), python_model=_Table(), signature=signature)
    schema = load_scorer(tmp_path / "typed").schema
    assert [f.data_type.value for f in schema.inputs] == [
        "Bool",
        "Int32",
        "Int64",
        "Float32",
        "Float64",
        "Str",
        "Time64",
        "Str",
    ]
    assert schema.media_fields == ("m",)


def test_unusable_models_are_refused_at_load(tmp_path):
    tensor = ModelSignature(inputs=Schema([TensorSpec(np.dtype("float32"), (-1, 28, 28))]))
    mlflow.pyfunc.save_model(str(tmp_path / "tensor"), python_model=_Table(), signature=tensor)
    with pytest.raises(ModelLoadError, match="tensor signature"):
        load_scorer(tmp_path / "tensor")
    mlflow.pyfunc.save_model(str(tmp_path / "blind"), python_model=_Table())
    with pytest.raises(ModelLoadError, match="no signature and its native model does not name its inputs"):
        load_scorer(tmp_path / "blind")


def test_requirement_mismatches_are_reported(sklearn_mlflow_model, tmp_path):
    copy = tmp_path / "old"
    shutil.copytree(sklearn_mlflow_model, copy)
    (copy / "requirements.txt").write_text("scikit-learn==0.20.4\nnumpy\nnot-a-real-package==1.0\n")
    notes = load_scorer(copy).info.notes
    assert any("scikit-learn==0.20.4 (installed" in n for n in notes)
    assert any("not-a-real-package==1.0 (not installed)" in n for n in notes)
    assert not any("numpy" in n for n in notes)


# --- the bundled media model ------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    return load_scorer(DIGITS)


def _png_table(names: list[str]) -> pd.DataFrame:
    images = [(REPO / "models" / "data" / "mnist" / name).read_bytes() for name in names]
    return pd.DataFrame({"image": images})


def test_digits_model_declares_media_example_and_augmentations(digits):
    schema = digits.schema
    assert schema.media_fields == ("image",) and schema.media_kind == "image"
    assert schema.output_names == tuple(f"digit.{d}" for d in range(10))
    assert schema.scoring_type is ScoringType.CLASSIFICATION and schema.class_labels == tuple(map(str, range(10)))
    example = (REPO / "models" / "data" / "mnist" / "images" / "t10k_00000.png").read_bytes()
    assert schema.example_row == (base64.b64encode(example).decode(),)
    assert schema.augmentations[0] == "identity" and Capability.MEDIA not in digits.capabilities


def test_digits_model_scores_like_its_own_pyfunc_and_reads_digits(digits):
    labels = pd.read_csv(REPO / "models" / "data" / "mnist" / "labels.csv")
    table = _png_table(labels["filename"].tolist())
    frame, _ = to_frame(["image"], [[blob] for blob in table["image"]], digits.schema, OPTIONS)
    got = digits.score(frame).predictions
    own = mlflow.pyfunc.load_model(str(DIGITS)).predict(table).to_numpy()
    assert np.abs(got - own).max() <= 1e-9
    accuracy = (got.argmax(axis=1) == labels["label"].to_numpy()).mean()
    assert accuracy >= 0.85, accuracy


def test_a_model_saved_by_another_python_says_so_in_its_notes(sklearn_mlflow_model, tmp_path):
    """MLflow's own version warnings are off (they scanned every installed distribution at each
    load); the model's notes name what differs instead."""
    folder = tmp_path / "older"
    shutil.copytree(sklearn_mlflow_model, folder)
    mlmodel = folder / "MLmodel"
    text = mlmodel.read_text()
    assert "python_version:" in text
    mlmodel.write_text("\n".join(
        "    python_version: 3.8.10" if line.strip().startswith("python_version:") else line
        for line in text.splitlines()
    ))  # fmt: skip
    assert f"saved with Python 3.8.10 (running {platform.python_version()})" in load_scorer(folder).info.notes
