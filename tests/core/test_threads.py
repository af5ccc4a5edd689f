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


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: the worker's share is one thread")
def test_a_large_call_gets_the_worker_s_share_of_the_cores_and_gives_it_back(tmp_path):
    """One 1,000-row request on one thread took 1.4-2.4x MLServer's time for boosted models."""
    import pandas as pd

    from scoring_runtime.core.threads import LARGE_ROWS, worker_share

    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(LARGE_ROWS, 4)), columns=list("abcd"))
    joblib.dump(HistGradientBoostingClassifier(max_iter=10).fit(table, table["a"] > 0), tmp_path / "hgb.joblib")
    from scoring_runtime.core.model import ServedModel
    from scoring_runtime.runtimes import load_scorer
    from scoring_runtime.runtimes.options import LoadOptions
    from scoring_runtime.settings import ModelSettings

    model = serve(load_scorer(tmp_path / "hgb.joblib", LoadOptions(accelerate=False)))
    estimator = model.scorer.estimator
    during: list[int] = []
    original = estimator.predict_proba

    def recording(features):
        during.append(max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"))
        return original(features)

    estimator.predict_proba = recording
    schema = model.schema
    big = to_frame(list(table.columns), table.to_numpy().tolist(), schema, OPTIONS)[0]
    small = to_frame(list(table.columns), table.head(LARGE_ROWS - 1).to_numpy().tolist(), schema, OPTIONS)[0]
    after = _openmp_threads_after_scoring(model, big)
    assert during == [worker_share(1)] and worker_share(1) > 1
    assert set(after) == {1}
    _openmp_threads_after_scoring(model, small)
    assert during[-1] == 1
    halves = ServedModel(model.scorer, ModelSettings(_env_file=None), workers=2)
    assert halves.threads.large_threads == (worker_share(2) if worker_share(2) > 1 else None)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: no call is given more than one thread")
def test_large_calls_of_every_model_and_the_loads_share_one_wide_thread(tmp_path, monkeypatch):
    """libgomp stops spinning at its barriers once it manages more threads than cores, so every
    thread that ever ran a team slows every other: large calls and loads all go to one thread."""
    import pandas as pd

    from scoring_runtime import runtimes
    from scoring_runtime.core.threads import LARGE_ROWS
    from scoring_runtime.settings import load_settings

    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(LARGE_ROWS, 4)), columns=list("abcd"))
    joblib.dump(HistGradientBoostingClassifier(max_iter=5).fit(table, table["a"] > 0), tmp_path / "hgb.joblib")
    loaded_on: list[str] = []
    original_load = runtimes.load_scorer

    def recording_load(*args, **kwargs):
        loaded_on.append(threading.current_thread().name)
        return original_load(*args, **kwargs)

    monkeypatch.setattr(runtimes, "load_scorer", recording_load)
    settings = load_settings(model=tmp_path / "hgb.joblib", accelerate="off")  # the estimator serves every size
    models = [runtimes.load_model(settings) for _ in range(2)]
    assert len(loaded_on) == 2 and all(name.startswith("scorer-wide") for name in loaded_on)
    scored_on: list[str] = []
    for model in models:
        estimator = model.scorer.estimator
        original = estimator.predict_proba
        estimator.predict_proba = lambda features, original=original: (
            scored_on.append(threading.current_thread().name) or original(features)
        )
    schema = models[0].schema
    big = to_frame(list(table.columns), table.to_numpy().tolist(), schema, OPTIONS)[0]
    small = to_frame(list(table.columns), table.head(3).to_numpy().tolist(), schema, OPTIONS)[0]
    for model in models:
        model.score_now(big)
        model.score_now(small)
    wide = {scored_on[0], scored_on[2]}
    assert len(wide) == 1 and wide == {loaded_on[0]}
    assert scored_on[1] == scored_on[3] == threading.current_thread().name
