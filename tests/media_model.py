"""A tiny real media model: it reads PNG headers from the bytes it is given.

It is pickled by the tests and unpickled by a real server process, which imports this module,
so media scoring is exercised end to end before the MLflow image model exists.
"""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd


class PngWidthRegressor:
    """Predicts an image's width from its PNG header (NaN when the cell is missing)."""

    feature_names_in_ = np.array(["image", "scale"], dtype=object)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        widths = [np.nan if blob is None else struct.unpack(">I", blob[16:20])[0] for blob in frame["image"]]
        return np.asarray(widths, dtype=float) * frame["scale"].to_numpy()
