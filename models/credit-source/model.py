"""Credit-card default, as a ModelOp model source: a LASSO (L1-penalised) logistic regression over
the 23 features of UCI's "default of credit card clients" (models/data/creditcard.csv).

The attachment `credit_lr.pkl` is what `train` writes; `scorer job train` runs it and
models/train_examples.py rebuilds the committed one the same way.
"""

import pickle
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, fbeta_score, roc_auc_score, roc_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

TARGET = "default payment next month"
FEATURES = [
    "LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE",
    "PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6",
    "BILL_AMT1", "BILL_AMT2", "BILL_AMT3", "BILL_AMT4", "BILL_AMT5", "BILL_AMT6",
    "PAY_AMT1", "PAY_AMT2", "PAY_AMT3", "PAY_AMT4", "PAY_AMT5", "PAY_AMT6",
]  # fmt: skip
THRESHOLD = 0.5
model = None


# modelop.init
def begin() -> None:
    global model
    with open("credit_lr.pkl", "rb") as handle:
        model = pickle.load(handle)


# modelop.score
def action(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    row = np.array([[np.nan if record[name] is None else record[name] for name in FEATURES]], dtype=float)
    probability = float(model.predict_proba(row)[0, 1])
    yield {
        "ID": record["ID"],
        "default_payment_next_month_0": 1.0 - probability,
        "default_payment_next_month_1": probability,
        "prediction": int(probability >= THRESHOLD),
    }


# modelop.metrics
def metrics(data: pd.DataFrame) -> Iterator[dict[str, Any]]:
    actual = data[TARGET].astype(int).to_numpy()
    probability = model.predict_proba(data[FEATURES].to_numpy(dtype=float))[:, 1]
    predicted = (probability >= THRESHOLD).astype(int)
    fpr, tpr, _ = roc_curve(actual, probability)
    step = max(len(fpr) // 50, 1)
    yield {
        "auc": float(roc_auc_score(actual, probability)),
        "f2_score": float(fbeta_score(actual, predicted, beta=2)),
        "confusion_matrix": confusion_matrix(actual, predicted, labels=[0, 1]).tolist(),
        "ROC": [{"fpr": float(f), "tpr": float(t)} for f, t in zip(fpr[::step], tpr[::step], strict=True)],
    }


# modelop.train
def train(data: pd.DataFrame) -> None:
    pipeline = make_pipeline(
        SimpleImputer(strategy="median"),
        StandardScaler(),
        LogisticRegression(l1_ratio=1.0, C=0.05, solver="liblinear", random_state=0),
    )
    pipeline.fit(data[FEATURES].to_numpy(dtype=float), data[TARGET].astype(int).to_numpy())
    with open("outputDir/credit_lr.pkl", "wb") as handle:
        pickle.dump(pipeline, handle)
