"""Real scikit-learn models trained on the repository's datasets, for the tests.

Each builder trains deterministically and writes a joblib artifact (with a sidecar where the
model needs one), returning the path and what a fidelity test needs to compare against.
"""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

DATA = Path(__file__).resolve().parent.parent / "models" / "data"
CREDIT_TARGET = "default payment next month"
CREDIT_CATEGORICAL = ["SEX", "EDUCATION", "MARRIAGE"]
CREDIT_NUMERIC = ["LIMIT_BAL", "AGE", "PAY_0", "PAY_2", "BILL_AMT1", "BILL_AMT2", "PAY_AMT1", "PAY_AMT2"]


def credit_frame(rows: int = 8000) -> pd.DataFrame:
    frame = pd.read_csv(DATA / "creditcard.csv", nrows=rows)
    for column in CREDIT_CATEGORICAL:
        frame[column] = frame[column].astype(str)
    return frame


def credit_pipeline(out_dir: Path, frame: pd.DataFrame, estimator: object = None, name: str = "credit_gbm") -> Path:
    """ColumnTransformer(OneHotEncoder on text categories) + GradientBoostingClassifier, or the
    `estimator` given (another variant over the same inputs)."""
    if estimator is None:
        estimator = GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=0)
    pipeline = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        (
                            "cat",
                            Pipeline(
                                [
                                    ("impute", SimpleImputer(strategy="most_frequent")),
                                    ("onehot", OneHotEncoder(handle_unknown="ignore")),
                                ]
                            ),
                            CREDIT_CATEGORICAL,
                        ),
                        ("num", SimpleImputer(strategy="median"), CREDIT_NUMERIC),
                    ]
                ),
            ),
            ("model", estimator),
        ]
    )
    pipeline.fit(frame[CREDIT_CATEGORICAL + CREDIT_NUMERIC], frame[CREDIT_TARGET])
    artifact = out_dir / f"{name}.joblib"
    joblib.dump(pipeline, artifact)
    write_credit_schema(artifact)
    return artifact


def write_credit_schema(artifact: Path) -> None:
    """The sidecar naming the credit models' target, beside `artifact`."""
    artifact.with_name(artifact.name + ".schema.json").write_text(
        json.dumps({"targetFields": [{"name": CREDIT_TARGET, "dataType": "Int32"}]})
    )


def credit_int_codes_pipeline(out_dir: Path, frame: pd.DataFrame) -> Path:
    """Categories fitted as integers: the request's text "2" must reach the encoder as 2."""
    numeric = frame.copy()
    for column in CREDIT_CATEGORICAL:
        numeric[column] = numeric[column].astype(int)
    pipeline = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        (
                            "cat",
                            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                            CREDIT_CATEGORICAL,
                        ),
                        ("num", "passthrough", CREDIT_NUMERIC),
                    ]
                ),
            ),
            ("gbm", GradientBoostingClassifier(n_estimators=20, max_depth=2, random_state=0)),
        ]
    )
    pipeline.fit(numeric[CREDIT_CATEGORICAL + CREDIT_NUMERIC], numeric[CREDIT_TARGET])
    artifact = out_dir / "credit_int_codes.pkl"
    joblib.dump(pipeline, artifact)
    return artifact


def hydraulic_regressor(out_dir: Path) -> tuple[Path, pd.DataFrame]:
    """pump_eff from the other sensors: a plain regressor without a sidecar."""
    frame = pd.read_csv(DATA / "hydraulic.csv")
    features = ["psa_bar", "psb_bar", "fsa_vol_flow", "tsa_temp", "vs_vib", "cool_pwr_pct"]
    model = GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=0)
    model.fit(frame[features], frame["pump_eff"])
    artifact = out_dir / "pump_eff.pickle"
    joblib.dump(model, artifact)
    return artifact, frame[features]


def mlflow_regressor(out_dir: Path) -> tuple[Path, pd.DataFrame]:
    """The pump regressor saved with MLflow's scikit-learn flavor: every input a number."""
    import mlflow.sklearn
    from mlflow.models import infer_signature

    artifact, features = hydraulic_regressor(out_dir)
    model = joblib.load(artifact)
    folder = out_dir / "pump_eff_mlflow"
    signature = infer_signature(features, pd.Series(model.predict(features), name="pump_eff"))
    mlflow.sklearn.save_model(
        model, str(folder), signature=signature, serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE
    )
    return folder, features
