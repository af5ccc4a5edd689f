"""What a model's work measurably costs per row, to decide where a request is scored."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class RowCost:
    """Seconds per row of one kind of model work, smoothed over the requests that ran it.

    A thread hop costs about 0.3 ms of CPU, as much as scoring 150 rows of a 100-tree GBM, so a
    request the model gets through within a small budget is cheaper on the event loop; what the
    model costs is only known by watching it, and it is watched on every call so that a model
    that turns slow (larger rows, a busier machine) goes back to the threads."""

    _WEIGHT = 0.2
    """Weight of the newest measurement: a slow outlier moves the estimate but does not own it."""

    def __init__(self) -> None:
        self.per_row: float | None = None

    def predict(self, rows: int) -> float:
        """Seconds `rows` rows are expected to take; infinite until the work has been measured."""
        return math.inf if self.per_row is None else rows * self.per_row

    def measured(self, work: Callable[[], T], rows: int) -> Callable[[], T]:
        """`work`, timing itself into the estimate (failures included: they cost time too)."""

        def timed() -> T:
            started = time.perf_counter()
            try:
                return work()
            finally:
                self.observe(time.perf_counter() - started, rows)

        return timed

    def observe(self, seconds: float, rows: int) -> None:
        sample = seconds / max(rows, 1)
        self.per_row = sample if self.per_row is None else self.per_row + self._WEIGHT * (sample - self.per_row)
