"""The thread budget on a real HistGradientBoosting pickle, whose predict runs OpenMP threads."""

from __future__ import annotations

import os
import threading

import joblib
import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_info

from tests.frames import OPTIONS, to_frame
from tests.served import serve


def _openmp_threads_after_scoring(model, frame) -> list[int]:
    seen: list[int] = []

    def work() -> None:
        model.score_now(frame)
        seen.extend(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return seen


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: a limit of one thread changes nothing to see")
def test_each_scoring_thread_limits_openmp_to_the_budget_and_zero_leaves_the_default(tmp_path):
    import pandas as pd

    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(400, 4)), columns=list("abcd"))
    estimator = HistGradientBoostingClassifier(max_iter=10).fit(table, table["a"] > 0)
    joblib.dump(estimator, tmp_path / "hgb.joblib")
    rows = table.head(50)
    frame = to_frame(list(rows.columns), rows.to_numpy().tolist(), serve(tmp_path / "hgb.joblib").schema, OPTIONS)[0]
    limited = _openmp_threads_after_scoring(serve(tmp_path / "hgb.joblib", model_threads=1), frame)
    free = _openmp_threads_after_scoring(serve(tmp_path / "hgb.joblib", model_threads=0), frame)
    assert limited and set(limited) == {1}
    assert free and min(free) > 1
