"""The accelerated path of tree ensembles (`SCORER_ACCELERATE`), in one run beside MLServer-best
(`parallel_workers=0`, debug off) on the same pickles, breast-cancer data (30 doubles):

    python -m bench.accelerate [--seconds 8] [--reps 2]

For a RandomForest (100 trees, depth 10), a GradientBoosting (100 trees) and a
HistGradientBoosting (100 iterations): ours with the default (`auto`, treelite once verified),
ours with `off` (the estimator's `predict_proba`), and MLServer; single row at 1 and 32
connections and 1,000 rows at 1 connection: req/s, p50, p99, server CPU per request. Also the
in-process floors: `predict_proba` and treelite for one row.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import joblib
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier

from bench.common import write_results
from bench.compare import MLSERVER, REPO, WORK, Server, alternate, measure, median_rows
from scoring_runtime.runtimes.python.accelerate import accelerate

SCENARIOS = [("1 row, 1 connection", 1, 1), ("1 row, 32 connections", 1, 32), ("1,000 rows", 1000, 1)]
MODELS = {
    "rf": lambda x, y: RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0).fit(x, y),
    "gbm": lambda x, y: GradientBoostingClassifier(n_estimators=100, random_state=0).fit(x, y),
    "hgb": lambda x, y: HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(x, y),
}


def prepare(name: str, x: np.ndarray, y: np.ndarray, names: list[str]) -> tuple[object, Server | None]:
    """The pickle with its schema sidecar for us, the same pickle in an MLServer folder."""
    model = MODELS[name](x, y)
    folder = WORK / "accelerate"
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, folder / f"{name}.joblib")
    schema = {"inputFields": [{"name": n, "dataType": "Float64"} for n in names]}
    (folder / f"{name}.joblib.schema.json").write_text(json.dumps(schema))
    if not (MLSERVER / "bin" / "mlserver").exists():
        return model, None
    mlserver = WORK / f"mlserver-{name}"  # compare.start finds an MLServer's settings by its name
    (mlserver / name).mkdir(parents=True, exist_ok=True)
    joblib.dump(model, mlserver / name / "model.joblib")
    settings = {
        "name": name,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib"},
    }
    (mlserver / name / "model-settings.json").write_text(json.dumps(settings))
    (mlserver / "settings.json").write_text(json.dumps({"debug": False, "parallel_workers": 0}))

    def v2(count: int) -> dict:
        batch = x[np.arange(count) % len(x)]
        tensor = {"name": "input-0", "shape": list(batch.shape), "datatype": "FP64", "data": batch.ravel().tolist()}
        return {"inputs": [tensor], "outputs": [{"name": "predict_proba"}]}

    start = [str(MLSERVER / "bin" / "mlserver"), "start", str(mlserver)]
    return model, Server(f"mlserver-{name}", start, "/v2/health/ready", f"/v2/models/{name}/infer", v2)


def floors(model: object, x: np.ndarray) -> tuple[float, float]:
    """Milliseconds for one row in this process: the estimator's predict_proba, treelite's."""
    one = x[:1]
    fast, _ = accelerate(model, x.shape[1], x[:100], model.predict_proba)

    def timed(call: object, repeat: int) -> float:
        call()
        started = time.perf_counter()
        for _ in range(repeat):
            call()
        return (time.perf_counter() - started) / repeat * 1e3

    return timed(lambda: model.predict_proba(one), 200), timed(lambda: fast.predict(one), 2000) if fast else float(
        "nan"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    args = parser.parse_args()
    data = load_breast_cancer()
    x, y = data.data, data.target
    names = [n.replace(" ", "_") for n in data.feature_names]

    def ours(count: int) -> dict:
        return {"fields": names, "rows": [[repr(v) for v in x[i % len(x)].tolist()] for i in range(count)]}

    lines = [
        f"Tree ensembles on the breast-cancer data, one worker each, medians of {args.reps} alternating runs of "
        f"{args.seconds} s; floors are one row in process:",
        "",
        "| model | server | scenario | req/s | p50 ms | p99 ms | server CPU ms/req |",
        "|---|---|---|---|---|---|---|",
    ]
    floor_lines = ["", "| model | predict_proba, 1 row | treelite, 1 row |", "|---|---|---|"]
    for name in args.models:
        model, mlserver = prepare(name, x, y, names)
        command = [sys.executable, "-m", "scoring_runtime", "serve", str(WORK / "accelerate" / f"{name}.joblib")]
        command += ["--host", "127.0.0.1"]
        pool = [
            Server(f"ours-{name}-auto", command, "/readyz", "/model/score", ours, REPO),
            Server(
                f"ours-{name}-off", command, "/readyz", "/model/score", ours, REPO, env={"SCORER_ACCELERATE": "off"}
            ),
        ]
        if mlserver is not None:
            pool.append(mlserver)

        def scenarios(server: Server) -> None:
            for label, count, connections in SCENARIOS:
                measure(server, label, server.body(count), connections, args.seconds)

        alternate(pool, args.reps, scenarios)
        for server in pool:
            lines += median_rows(server, [label for label, _, _ in SCENARIOS], lead=f"{name} | ")
        proba, fast = floors(model, x)
        floor_lines.append(f"| {name} | {proba:.3f} ms | {fast:.3f} ms |")
    text = "\n".join(lines + floor_lines)
    print(text)
    write_results("Accelerated tree ensembles", text)


if __name__ == "__main__":
    main()
