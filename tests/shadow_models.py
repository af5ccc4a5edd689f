"""Real pickled challengers that misbehave: one raises on every call, one takes a second per call.

Each wraps a real credit pipeline so it reads the same input fields as the champion (a
deployment refuses variants that differ); pickled, they load in a server started from the
repository's root, where `tests` is importable.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np


class _Wrapped:
    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self.feature_names_in_ = pipeline.feature_names_in_
        self.classes_ = pipeline.classes_


class FailingChallenger(_Wrapped):
    def predict(self, frame: Any) -> np.ndarray:
        raise RuntimeError("this challenger fails on every call")

    def predict_proba(self, frame: Any) -> np.ndarray:
        raise RuntimeError("this challenger fails on every call")


class SlowChallenger(_Wrapped):
    def predict(self, frame: Any) -> np.ndarray:
        time.sleep(1.0)
        return self.pipeline.predict(frame)

    def predict_proba(self, frame: Any) -> np.ndarray:
        time.sleep(1.0)
        return self.pipeline.predict_proba(frame)
