"""Train the bundled example models from the datasets in `models/data/`.

    python models/train_examples.py            # models/hydraulic/cool_cond_y.joblib (+ sidecar)
                                               # models/digits/ (MLflow media model)
                                               # models/credit-source/credit_lr.pkl (its own train)

Training is deterministic (fixed seeds), so the committed artifacts can be rebuilt and checked.
The hydraulic classifier is the scikit-learn twin of the default MOJO: the cooler condition (3, 20 or 100 %)
from the 16 sensor means the README's curl example sends (all sensors except the cooling efficiency).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import tempfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

MODELS = Path(__file__).resolve().parent
DATA = MODELS / "data"
HYDRAULIC_TARGET = "cool_cond_y"
HYDRAULIC_FEATURES = [
    "psa_bar", "psb_bar", "psc_bar", "psd_bar", "pse_bar", "psf_bar", "fsa_vol_flow", "fsb_vol_flow",
    "tsa_temp", "tsb_temp", "tsc_temp", "tsd_temp", "pump_eff", "vs_vib", "cool_pwr_pct", "eff_fact_pct",
]  # fmt: skip


def train_hydraulic(out_dir: Path) -> Path:
    frame = pd.read_csv(DATA / "hydraulic.csv")
    model = GradientBoostingClassifier(n_estimators=50, max_depth=3, random_state=0)
    model.fit(frame[HYDRAULIC_FEATURES], frame[HYDRAULIC_TARGET])
    out_dir.mkdir(parents=True, exist_ok=True)
    artifact = out_dir / f"{HYDRAULIC_TARGET}.joblib"
    joblib.dump(model, artifact, compress=3)
    sidecar = {
        "inputFields": [{"name": name, "dataType": "Float64"} for name in HYDRAULIC_FEATURES],
        "targetFields": [{"name": HYDRAULIC_TARGET, "dataType": "Int32"}],
        "outputFields": [{"name": f"{HYDRAULIC_TARGET}.{c}", "dataType": "Float64"} for c in model.classes_],
    }
    artifact.with_name(artifact.name + ".schema.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    return artifact


DIGIT_AUGMENTATIONS = ["identity", "shift_1_0", "shift_-1_0", "shift_0_1", "shift_0_-1"]


def mnist_idx(kind: str) -> np.ndarray:
    """The MNIST test-set IDX file (images: n x 28 x 28 uint8, labels: n)."""
    with gzip.open(DATA / "mnist" / f"t10k-{kind}-idx{3 if kind == 'images' else 1}-ubyte.gz") as handle:
        raw = handle.read()
    return (
        np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)
        if kind == "images"
        else np.frombuffer(raw, np.uint8, offset=8)
    )


def train_digits(out_dir: Path) -> Path:
    """A digit classifier over PNG images, saved as an MLflow pyfunc with a `binary` input.

    Trained on the 9,900 MNIST test images that are not among the 100 bundled PNGs, which are kept
    for checking it."""
    import mlflow.pyfunc
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    held_out = set(pd.read_csv(DATA / "mnist" / "labels.csv")["t10k_index"])
    images, labels = mnist_idx("images"), mnist_idx("labels")
    keep = np.array([i not in held_out for i in range(len(labels))])
    classifier = LogisticRegression(max_iter=300, C=0.05)
    classifier.fit(images[keep].reshape(-1, 784) / 255.0, labels[keep])
    example_png = (DATA / "mnist" / "images" / "t10k_00000.png").read_bytes()
    signature = ModelSignature(
        inputs=Schema([ColSpec("binary", "image")]),
        outputs=Schema([ColSpec("double", f"digit.{c}") for c in classifier.classes_]),
    )
    with tempfile.TemporaryDirectory() as scratch:
        weights = Path(scratch) / "classifier.joblib"
        joblib.dump(classifier, weights)
        shutil.rmtree(out_dir, ignore_errors=True)
        mlflow.pyfunc.save_model(
            str(out_dir),
            python_model=_digit_model_class()(),
            artifacts={"classifier": str(weights)},
            code_paths=[str(MODELS / "digit_model.py")],
            signature=signature,
            input_example=pd.DataFrame({"image": [example_png]}),
            metadata={"scorer": {"media_type": "image", "test_time_augmentation": DIGIT_AUGMENTATIONS}},
        )
    _forget_scratch_paths(out_dir / "MLmodel")
    return out_dir


def _forget_scratch_paths(mlmodel: Path) -> None:
    """MLflow records where each artifact was copied from (`uri:`, a scratch folder that is gone);
    loading uses only the artifact's `path` inside the model, so the line is dropped to keep the
    committed model free of one machine's paths."""
    lines = mlmodel.read_text().splitlines(keepends=True)
    mlmodel.write_text("".join(line for line in lines if not line.lstrip().startswith("uri: ")))


def _digit_model_class() -> type:
    import sys

    sys.path.insert(0, str(MODELS))
    from digit_model import DigitClassifier

    return DigitClassifier


def train_credit_source(out_dir: Path) -> Path:
    """The model source's attachment, written by its own `# modelop.train` function exactly as
    `scorer job train` runs it."""
    from scoring_runtime.cli import main as scorer

    source = MODELS / "credit-source"
    code = scorer(["job", "train", str(source), "--input", str(DATA / "creditcard.csv"), "--output-dir", str(out_dir)])
    if code != 0:
        raise SystemExit(code)
    return out_dir / "credit_lr.pkl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["hydraulic", "digits", "credit-source"], help="train one model")
    args = parser.parse_args()
    if args.only in (None, "hydraulic"):
        print(train_hydraulic(MODELS / "hydraulic"))
    if args.only in (None, "digits"):
        print(train_digits(MODELS / "digits"))
    if args.only in (None, "credit-source"):
        train_credit_source(MODELS / "credit-source")


if __name__ == "__main__":
    main()
