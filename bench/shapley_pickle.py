"""Benchmark Shapley values for a pickled scikit-learn model, in-process and over HTTP.

    .venv/bin/python -m bench.shapley_pickle

A 100-tree depth-3 GradientBoostingClassifier on 16 hydraulic sensors; prints the time to explain
1,000 rows (target: <= 1 s on the 2-core machine) with TreeSHAP, and the same through
POST /model/contribution.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import joblib
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier

from bench.common import median_ms, serve, timed_posts
from models.train_examples import HYDRAULIC_FEATURES
from scoring_runtime.core.types import ShapleyKind
from scoring_runtime.runtimes import load_scorer
from tests.frames import to_frame
from tests.server_process import REPO


def main() -> None:
    data = pd.read_csv(REPO / "models" / "data" / "hydraulic.csv")
    model = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0)
    model.fit(data[HYDRAULIC_FEATURES], data["cool_cond_y"] == 100)
    artifact = Path(tempfile.mkdtemp()) / "gbm100.joblib"
    joblib.dump(model, artifact)
    rows = data[HYDRAULIC_FEATURES].sample(1000, replace=True, random_state=0).astype(str)
    scorer = load_scorer(artifact)
    frame, _ = to_frame(list(rows.columns), rows.to_numpy().tolist(), scorer.schema)
    scorer.contributions(frame.take([0]), ShapleyKind.ORIGINAL)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        scorer.contributions(frame, ShapleyKind.ORIGINAL)
        times.append(time.perf_counter() - started)
    print(f"in-process: 1,000 rows explained in {median_ms(times):.1f} ms (median of 5)")
    server, _ = serve(artifact)
    try:
        body = {"fields": list(rows.columns), "rows": rows.to_numpy().tolist(), "requestShapleyValueType": "ORIGINAL"}
        http = timed_posts(f"{server.url}/model/contribution", body, repeat=5)
        print(f"HTTP /model/contribution: 1,000 rows in {median_ms(http):.1f} ms (median of 5)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
