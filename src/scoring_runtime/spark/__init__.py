"""Scoring Spark DataFrames with the same runtimes as the server (`mapInPandas`).

    from scoring_runtime.spark import score
    scored = score(df, "models/credit.joblib", include=["id"])

Importing this package needs no pyspark; calling `score` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path


def score(
    df: Any,
    model: str | Path,
    *,
    include: list[str] | None = None,
    shapley: str | None = None,
    intervals: bool = False,
    runtime: str | None = None,
) -> Any:
    """`df` scored by `model`: the `include` columns, then one column per output (see
    `scoring_runtime.spark.frames.score`)."""
    from scoring_runtime.spark.frames import score as score_frame

    return score_frame(df, model, include=include or [], shapley=shapley, intervals=intervals, runtime=runtime)


__all__ = ["score"]
