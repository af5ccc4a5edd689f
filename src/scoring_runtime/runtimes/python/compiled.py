"""What a compiler of fitted estimators hands the accelerated path: predictors to verify, and the
rows to verify them on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SYNTHETIC_ROWS = 2000

Predict = Callable[[np.ndarray], np.ndarray]
"""A float64 matrix in the model's input order, without missing values, to a 2-D answer."""


@dataclass(frozen=True)
class Compiled:
    """`candidates` are tried in order; the first within tolerance of the estimator on `rows` serves."""

    engine: str
    own: str
    """The library that scores the model otherwise (scikit-learn, LightGBM), as the notes name it."""
    candidates: tuple[Predict, ...]
    rows: np.ndarray
    large: Predict | None = None
    """The library's own scoring call without its estimator wrapper (LightGBM's `Booster.predict`:
    the scikit-learn wrapper spends ~0.5 ms a call on parameter copies and signatures, and runs on
    every core whatever the server's thread budget), for requests past the compiled path's
    crossover; serves only when it answers exactly what the estimator does."""


def known_without_missing(known_rows: np.ndarray, inputs: int) -> np.ndarray:
    """The sample and background rows the fast path can be asked about (it never sees a missing value)."""
    if not len(known_rows):
        return known_rows.reshape(0, inputs)
    return known_rows[~np.isnan(known_rows).any(axis=1)]
