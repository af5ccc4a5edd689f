"""What the thread budget (`SCORER_MODEL_THREADS`) changes, HistGradientBoosting on the
breast-cancer data, in one run beside MLServer-best (`parallel_workers=0`, debug off):

    python -m bench.threads [--seconds 10] [--reps 2]

Ours with the default budget (1 OpenMP thread per scoring call) and with the libraries' default
(`SCORER_MODEL_THREADS=0`, a thread per core, what every release before had), single row at 1 and
32 connections and 1,000 rows at 1 connection: req/s, p50, p99 and server CPU per request.
"""

from __future__ import annotations

import argparse
import json
import sys

import joblib
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier

from bench.common import write_results
from bench.compare import REPO, TABLE_HEAD, WORK, Server, alternate, measure, median_rows
from bench.environments import MLSERVER

SCENARIOS = [("1 row, 1 connection", 1, 1), ("1 row, 32 connections", 1, 32), ("1,000 rows", 1000, 1)]


def prepare() -> tuple[list[list[float]], list[str]]:
    data = load_breast_cancer()
    names = [n.replace(" ", "_") for n in data.feature_names]
    model = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(data.data, data.target)
    folder = WORK / "threads"
    folder.mkdir(parents=True, exist_ok=True)
    mlserver = WORK / "mlserver-hgb"  # compare.start finds an MLServer's settings by its name
    (mlserver / "hgb").mkdir(parents=True, exist_ok=True)
    joblib.dump(model, folder / "hgb.joblib")
    schema = {"inputFields": [{"name": n, "dataType": "Float64"} for n in names]}
    (folder / "hgb.joblib.schema.json").write_text(json.dumps(schema))
    joblib.dump(model, mlserver / "hgb" / "model.joblib")
    settings = {
        "name": "hgb",
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib"},
    }
    (mlserver / "hgb" / "model-settings.json").write_text(json.dumps(settings))
    (mlserver / "settings.json").write_text(json.dumps({"debug": False, "parallel_workers": 0}))
    return data.data.tolist(), names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    rows, names = prepare()
    folder = WORK / "threads"

    def ours(count: int) -> dict:
        return {"fields": names, "rows": [[repr(v) for v in rows[i % len(rows)]] for i in range(count)]}

    def v2(count: int) -> dict:
        batch = [rows[i % len(rows)] for i in range(count)]
        data = [v for row in batch for v in row]
        return {"inputs": [{"name": "input-0", "shape": [count, len(names)], "datatype": "FP64", "data": data}]}

    command = [sys.executable, "-m", "scoring_runtime", "serve", str(folder / "hgb.joblib"), "--host", "127.0.0.1"]
    pool = [
        Server("ours (model threads 1, default)", command, "/readyz", "/model/score", ours, REPO),
        Server(
            "ours (model threads 0)", command, "/readyz", "/model/score", ours, REPO, env={"SCORER_MODEL_THREADS": "0"}
        ),
    ]
    if (MLSERVER / "bin" / "mlserver").exists():
        start = [str(MLSERVER / "bin" / "mlserver"), "start", str(WORK / "mlserver-hgb")]
        pool.append(Server("mlserver-hgb", start, "/v2/health/ready", "/v2/models/hgb/infer", v2))

    def scenarios(server: Server) -> None:
        for label, count, connections in SCENARIOS:
            measure(server, label, server.body(count), connections, args.seconds)

    alternate(pool, args.reps, scenarios)
    lines = [
        "HistGradientBoosting (100 iterations, breast cancer, 30 doubles), one worker each, medians of "
        f"{args.reps} alternating runs of {args.seconds} s:",
        "",
        *TABLE_HEAD,
    ]
    for server in pool:
        lines += median_rows(server, [label for label, _, _ in SCENARIOS])
    text = "\n".join(lines)
    print(text)
    write_results("Thread budget: HistGradientBoosting", text)


if __name__ == "__main__":
    main()
