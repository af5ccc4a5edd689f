"""A real pickled model that takes as long as it is told to, for timeout, shedding and drain tests."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd


class SleepyRegressor:
    """Sleeps for the largest `seconds` in the batch, then predicts `seconds` back."""

    feature_names_in_ = np.array(["seconds"], dtype=object)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        seconds = frame["seconds"].to_numpy(dtype=float)
        time.sleep(float(np.nanmax(seconds)))
        return seconds
