"""The model matrix: every model kind served by this server (defaults, and `SCORER_ACCELERATE=off`)
and by MLServer-best (`parallel_workers=0`, debug off), in one run, servers alternating:

    python -m bench.matrix [--seconds 5] [--reps 2] [--models gbm rf hgb lr xgboost lightgbm mojo]

Models on scikit-learn's breast-cancer data (30 doubles): GradientBoosting (100 trees),
RandomForest (100 trees, depth 10), HistGradientBoosting (100 iterations), a StandardScaler and
LogisticRegression pipeline, XGBoost and LightGBM (100 trees each) — pickles for us, MLServer's
own runtime for each (`mlserver-sklearn`, `mlserver-xgboost` on the booster's JSON,
`mlserver-lightgbm` on its text model) — and the H2O-3 MOJO fixture (`gbm_binomial`, 10 inputs;
MLServer has no H2O runtime, so ours alone). `ours-X` is the H2O API (text cells), `ours-X-v2` the
same server over V2 JSON with MLServer's body. Scenarios: one row at 1 and 32 connections, 1,000
and 10,000 rows; per server req/s, p50, p99, server CPU per request and RSS. Beside them the
raw-ASGI floor (`bench/floor.py`: uvicorn, orjson and the model's fastest verified path, nothing
else) and, in process, one row through `predict_proba`, our verified path and onnxruntime (float32
for trees: not exact, a floor only) where skl2onnx/onnxmltools convert the model.

Our pickle servers run from `.venvs/ours-sklearn` (`pip install .[sklearn]` plus xgboost and
lightgbm), MLServer from `.venvs/mlserver`; both are made or refreshed by this command, and the
running interpreter gets xgboost, lightgbm and onnxmltools for the in-process floors (and the
machine `wrk`, from Debian, when it is missing).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass

import joblib
import numpy as np
from sklearn.datasets import load_breast_cancer

from bench.compare import MOJO, REPO, UVICORN_QUIET, WORK, Server, alternate, measure
from bench.environments import deployed_venv, here, mlserver_venv, wrk
from bench.matrix_models import MODELS, Kind, in_process_floors
from bench.matrix_report import report

SCENARIOS = [
    ("1 row, 1 connection", 1, 1),
    ("1 row, 32 connections", 1, 32),
    ("1,000 rows", 1000, 1),
    ("10,000 rows", 10_000, 1),
]
BOOSTING_PACKAGES = ("xgboost", "lightgbm")


@dataclass
class Row:
    """One model kind's servers and its in-process floors."""

    name: str
    servers: list[Server]
    floors: dict[str, float]


def _breast_cancer() -> tuple[np.ndarray, np.ndarray, list[str]]:
    data = load_breast_cancer()
    return data.data, data.target, [n.replace(" ", "_") for n in data.feature_names]


def pickle_servers(
    kind: Kind, model: object, x: np.ndarray, names: list[str], ours_python: str, mlserver: str
) -> list[Server]:
    folder = WORK / "matrix"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind.name}.joblib"
    joblib.dump(model, path)
    schema = {"inputFields": [{"name": n, "dataType": "Float64"} for n in names]}
    path.with_name(path.name + ".schema.json").write_text(json.dumps(schema))

    def ours(count: int) -> dict:
        return {"fields": names, "rows": [[repr(v) for v in x[i % len(x)].tolist()] for i in range(count)]}

    serve = [ours_python, "-m", "scoring_runtime", "serve", str(path), "--host", "127.0.0.1"]
    floor = [str(REPO / ".venvs" / "ours-sklearn" / "bin" / "uvicorn"), "--factory", "bench.floor:raw_app"]
    floor_env = {"BENCH_MODEL": str(path), "BENCH_ACCELERATED": "1"}

    def raw(count: int) -> dict:
        return {"rows": x[np.arange(count) % len(x)].tolist()}

    def v2(count: int) -> dict:
        batch = x[np.arange(count) % len(x)]
        return {
            "inputs": [
                {"name": "input-0", "shape": list(batch.shape), "datatype": "FP64", "data": batch.ravel().tolist()}
            ]
        }

    pool = [
        Server(f"ours-{kind.name}", serve, "/readyz", "/model/score", ours, REPO),
        Server(f"ours-{kind.name}-v2", serve, "/v2/health/ready", f"/v2/models/{kind.name}/infer", v2, REPO),
        Server(f"ours-{kind.name}-off", serve, "/readyz", "/model/score", ours, REPO, env={"SCORER_ACCELERATE": "off"}),
        Server(f"floor-{kind.name}", [*floor, *UVICORN_QUIET], "/ready", "/score", raw, REPO, env=floor_env),
    ]
    pool.append(_mlserver(kind, model, x, mlserver))
    return pool


def _mlserver(kind: Kind, model: object, x: np.ndarray, command: str) -> Server:
    home = WORK / f"mlserver-{kind.name}"  # compare.start finds an MLServer's settings by its name
    (home / kind.name).mkdir(parents=True, exist_ok=True)
    kind.save_for_mlserver(model, home / kind.name / kind.mlserver_file)
    settings = {
        "name": kind.name,
        "implementation": kind.mlserver_runtime,
        "parameters": {"uri": f"./{kind.mlserver_file}"},
    }
    (home / kind.name / "model-settings.json").write_text(json.dumps(settings))
    (home / "settings.json").write_text(json.dumps({"debug": False, "parallel_workers": 0}))

    def v2(count: int) -> dict:
        batch = x[np.arange(count) % len(x)]
        tensor = {"name": "input-0", "shape": list(batch.shape), "datatype": "FP64", "data": batch.ravel().tolist()}
        outputs = [{"name": kind.mlserver_output}] if kind.mlserver_output else []
        return {"inputs": [tensor], "outputs": outputs}

    return Server(
        f"mlserver-{kind.name}", [command, "start", str(home)], "/v2/health/ready", f"/v2/models/{kind.name}/infer", v2
    )


def mojo_servers() -> list[Server]:
    lines = MOJO.with_suffix(".input.csv").read_text().splitlines()
    fields, table = lines[0].split(","), [line.split(",") for line in lines[1:]]

    def body(count: int) -> dict:
        return {"fields": fields, "rows": [table[i % len(table)] for i in range(count)]}

    serve = [sys.executable, "-m", "scoring_runtime", "serve", str(MOJO), "--host", "127.0.0.1"]
    return [
        Server("ours-mojo", serve, "/readyz", "/model/score", body, REPO),
        Server("ours-mojo-off", serve, "/readyz", "/model/score", body, REPO, env={"SCORER_ACCELERATE": "off"}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--models", nargs="*", default=[*MODELS, "mojo"], choices=[*MODELS, "mojo"])
    args = parser.parse_args()
    wrk()
    here(*BOOSTING_PACKAGES, "onnxmltools")
    ours_python = str(deployed_venv(*BOOSTING_PACKAGES))
    mlserver = str(mlserver_venv("mlserver-xgboost==1.7.1", "mlserver-lightgbm==1.7.1", *BOOSTING_PACKAGES))
    x, y, names = _breast_cancer()
    rows: list[Row] = []
    for name in args.models:
        if name == "mojo":
            rows.append(Row(name, mojo_servers(), {}))
            continue
        kind = MODELS[name]
        model = kind.build(x, y)
        rows.append(
            Row(name, pickle_servers(kind, model, x, names, ours_python, mlserver), in_process_floors(model, x, kind))
        )

    def scenarios(server: Server) -> None:
        for label, count, connections in SCENARIOS:
            measure(server, label, server.body(count), connections, args.seconds)

    started = time.perf_counter()
    for row in rows:
        alternate(row.servers, args.reps, scenarios)
    labels = [label for label, _, _ in SCENARIOS]
    every_model = set(args.models) == {*MODELS, "mojo"}
    text = report(rows, labels, args.seconds, args.reps, time.perf_counter() - started, every_model)
    print(text)


if __name__ == "__main__":
    main()
