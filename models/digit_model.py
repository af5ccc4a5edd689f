"""The bundled media example: an MLflow pyfunc that classifies a PNG of a handwritten digit.

Shipped inside the MLflow model (code_paths), so serving needs nothing from this repository.
"""

from __future__ import annotations

import io

import joblib
import mlflow.pyfunc
import numpy as np
import pandas as pd
from PIL import Image


def pixels(blob: bytes) -> np.ndarray:
    """28x28 grey levels scaled to 0..1, whatever size or mode the PNG has."""
    with Image.open(io.BytesIO(blob)) as image:
        return np.asarray(image.convert("L").resize((28, 28)), dtype=np.float64).ravel() / 255.0


class DigitClassifier(mlflow.pyfunc.PythonModel):
    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.classifier = joblib.load(context.artifacts["classifier"])

    def predict(self, context: object, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        features = np.stack([pixels(blob) for blob in model_input["image"]])
        probabilities = self.classifier.predict_proba(features)
        return pd.DataFrame(probabilities, columns=[f"digit.{c}" for c in self.classifier.classes_])
