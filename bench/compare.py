"""Side by side: this server, MLServer 1.7.1 and `mlflow models serve`, on the same model.

    .venv/bin/python -m bench.compare [--seconds 10] [--reps 3] [--quick]

The model: GradientBoostingClassifier (100 trees, depth 3) on scikit-learn's breast-cancer data
(30 float features). Every server gets bounded wrk runs on 127.0.0.1, servers alternating within
each repetition; the medians over repetitions are printed and written to bench/RESULTS.md with the
date, versions and machine. Server CPU per request comes from /proc (the server's process tree).
Two floors run beside them (bench/floor.py): the benchmark model behind a raw ASGI callable and
behind one FastAPI endpoint, with nothing but JSON, `predict_proba` and `repr`.
MLServer runs from its own virtualenv (.venvs/mlserver: mlserver and mlserver-sklearn 1.7.1 with
uvloop<0.22, which its default worker pool needs to start).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import joblib
import mlflow.sklearn
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier

from bench.common import cpu_seconds, process_tree, rss_mb, write_results, wrk
from bench.environments import DEPLOYED, MLSERVER, deployed_venv, mlserver_venv
from tests.server_process import REPO

WORK = REPO / ".bench"
UVICORN_QUIET = ["--host", "127.0.0.1", "--no-access-log", "--log-level", "warning"]
MOJO = REPO / "tests" / "fixtures" / "h2o" / "gbm_binomial.zip"


@dataclass
class Server:
    name: str
    command: list[str]
    ready_path: str
    score_path: str
    body: object  # rows -> request body
    cwd: Path = WORK
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    url: str = ""
    ready_seconds: float = 0.0
    results: dict[str, list[dict]] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare() -> tuple[np.ndarray, list[str]]:
    """Train the model once and write it for every server."""
    data = load_breast_cancer()
    x, names = data.data, [n.replace(" ", "_") for n in data.feature_names]
    model = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0).fit(x, data.target)
    WORK.mkdir(exist_ok=True)
    joblib.dump(model, WORK / "gbm.joblib")
    (WORK / "gbm.joblib.schema.json").write_text(
        json.dumps(
            {
                "inputFields": [{"name": n, "dataType": "Float64"} for n in names],
                "targetFields": [{"name": "diagnosis", "dataType": "Int32"}],
            }
        )
    )
    for config, workers in (("mlserver-default", None), ("mlserver-best", 0)):
        folder = WORK / config
        (folder / "gbm").mkdir(parents=True, exist_ok=True)
        joblib.dump(model, folder / "gbm" / "model.joblib")
        (folder / "gbm" / "model-settings.json").write_text(
            json.dumps(
                {
                    "name": "gbm",
                    "implementation": "mlserver_sklearn.SKLearnModel",
                    "parameters": {"uri": "./model.joblib"},
                }
            )
        )
        settings = {"debug": False} if workers is not None else {}
        if workers is not None:
            settings["parallel_workers"] = workers
        (folder / "settings.json").write_text(json.dumps(settings))
    mlflow_dir = WORK / "mlflow-model"
    if not mlflow_dir.exists():
        mlflow.sklearn.save_model(
            model, str(mlflow_dir), serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE
        )
    return x, names


def servers(x: np.ndarray, names: list[str]) -> list[Server]:
    python = sys.executable

    def ours(rows: int, **extra: object) -> dict:
        return {"fields": names, "rows": [[repr(v) for v in r] for r in _rows(x, rows).tolist()], **extra}

    def v2(rows: int) -> dict:
        batch = _rows(x, rows)
        return {
            "inputs": [
                {"name": "input-0", "shape": list(batch.shape), "datatype": "FP64", "data": batch.ravel().tolist()}
            ],
            "outputs": [{"name": "predict_proba"}],
        }

    def mlflow_body(rows: int) -> dict:
        return {"dataframe_split": {"columns": list(range(x.shape[1])), "data": _rows(x, rows).tolist()}}

    found = [
        Server(
            "ours",
            [python, "-m", "scoring_runtime", "serve", str(WORK / "gbm.joblib"), "--host", "127.0.0.1"],
            "/readyz",
            "/model/score",
            ours,
            REPO,
        ),
        Server(
            "ours-sklearn-install",
            [
                str(DEPLOYED / "bin" / "python"),
                "-m",
                "scoring_runtime",
                "serve",
                str(WORK / "gbm.joblib"),
                "--host",
                "127.0.0.1",
            ],
            "/readyz",
            "/model/score",
            ours,
            REPO,
        ),
        Server(
            "ours-2-workers",
            [
                python,
                "-m",
                "scoring_runtime",
                "serve",
                str(WORK / "gbm.joblib"),
                "--host",
                "127.0.0.1",
                "--workers",
                "2",
            ],
            "/readyz",
            "/model/score",
            ours,
            REPO,
        ),
        Server(
            "ours-batching",
            [python, "-m", "scoring_runtime", "serve", str(WORK / "gbm.joblib"), "--host", "127.0.0.1"],
            "/readyz",
            "/model/score",
            ours,
            REPO,
            env={"SCORER_BATCH_MAX_ROWS": "64", "SCORER_BATCH_MAX_WAIT_MS": "2"},
        ),
    ]
    if (MLSERVER / "bin" / "mlserver").exists():
        for config in ("mlserver-default", "mlserver-best"):
            found.append(
                Server(
                    config,
                    [str(MLSERVER / "bin" / "mlserver"), "start", str(WORK / config)],
                    "/v2/health/ready",
                    "/v2/models/gbm/infer",
                    v2,
                )
            )
    for name, factory in (("floor-raw-asgi", "raw_app"), ("floor-fastapi", "fastapi_app")):
        found.append(
            Server(
                name,
                [str(Path(python).with_name("uvicorn")), "--factory", f"bench.floor:{factory}", *UVICORN_QUIET],
                "/ready",
                "/score",
                ours,
                REPO,
                env={"BENCH_MODEL": str(WORK / "gbm.joblib")},
            )
        )
    mlflow_cli = Path(python).with_name("mlflow")
    found.append(
        Server(
            "mlflow-serve",
            [
                str(mlflow_cli),
                "models",
                "serve",
                "-m",
                str(WORK / "mlflow-model"),
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
            ],
            "/ping",
            "/invocations",
            mlflow_body,
        )
    )
    return found


def _rows(x: np.ndarray, rows: int) -> np.ndarray:
    return np.resize(x, (rows, x.shape[1]))


def start(server: Server) -> None:
    port = free_port()
    command = list(server.command)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCORER_")}
    env["PATH"] = f"{Path(command[0]).parent}:{env.get('PATH', '')}"  # mlflow serve execs uvicorn
    env.update(server.env)
    if server.name.startswith("mlserver"):
        settings = json.loads((WORK / server.name / "settings.json").read_text())
        settings.update({"http_port": port, "grpc_port": free_port(), "metrics_port": free_port()})
        (WORK / server.name / "settings.json").write_text(json.dumps(settings))
    elif server.name.startswith("mlflow"):
        command += ["-p", str(port)]
    else:
        command += ["--port", str(port)]
    log = (WORK / f"{server.name}.log").open("wb")
    started = time.perf_counter()
    server.process = subprocess.Popen(command, cwd=server.cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    server.url = f"http://127.0.0.1:{port}"
    deadline = started + 120
    with httpx.Client(timeout=1) as probe:  # one client: a new one per poll builds an SSL context
        while time.perf_counter() < deadline:
            try:
                if probe.get(server.url + server.ready_path).status_code == 200:
                    server.ready_seconds = time.perf_counter() - started
                    return
            except httpx.HTTPError:
                pass
            if server.process.poll() is not None:
                break
            time.sleep(0.01)
    raise RuntimeError(f"{server.name} did not become ready; see {WORK / (server.name + '.log')}")


def stop(server: Server) -> None:
    """Stop a server and wait for its workers too, so that none is still exiting while the next
    server starts (its start-up time is measured)."""
    if server.process and server.process.poll() is None:
        tree = process_tree(server.process.pid)
        server.process.terminate()
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
        deadline = time.perf_counter() + 20
        while any(Path(f"/proc/{pid}").exists() for pid in tree[1:]) and time.perf_counter() < deadline:
            time.sleep(0.05)


def alternate(pool: list[Server], reps: int, scenarios: Callable[[Server], None]) -> None:
    """Each server started in turn, its scenarios run, its RSS and ready time noted, then stopped;
    the order reverses every repetition, so no server always runs first on a cold machine."""
    for rep in range(reps):
        for server in pool if rep % 2 == 0 else list(reversed(pool)):
            start(server)
            try:
                scenarios(server)
                server.results.setdefault("rss", []).append({"rss_mb": rss_mb(server.process.pid)})
                server.results.setdefault("ready", []).append({"ready_s": server.ready_seconds})
            finally:
                stop(server)


TABLE_HEAD = ["| server | scenario | req/s | p50 ms | p99 ms | server CPU ms/req |", "|---|---|---|---|---|---|"]


def median_rows(server: Server, labels: list[str], lead: str = "") -> list[str]:
    """One table row per scenario of `server`: the medians of its runs (req/s, p50, p99, server
    CPU per request); `lead` puts cells before the server's name."""
    rows = []
    for label in labels:
        runs = server.results[label]
        figure = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50_ms", "p99_ms", "cpu_ms_per_request")}
        rows.append(
            f"| {lead}{server.name} | {label} | {figure['rps']:.0f} | {figure['p50_ms']:.2f} | {figure['p99_ms']:.2f} "
            f"| {figure['cpu_ms_per_request']:.3f} |"
        )
    return rows


def measure(server: Server, label: str, body: dict, connections: int, seconds: int) -> None:
    with httpx.Client(timeout=60) as client:  # warm-up, and a check that the body is accepted
        response = client.post(server.url + server.score_path, json=body)
        response.raise_for_status()
    cpu_before = cpu_seconds(server.process.pid)
    result = wrk(server.url + server.score_path, body, connections=connections, seconds=seconds)
    cpu = cpu_seconds(server.process.pid) - cpu_before
    result["cpu_ms_per_request"] = 1000 * cpu / max(result["rps"] * seconds, 1)
    server.results.setdefault(label, []).append(result)


SCENARIOS = [
    ("1 row, 1 connection", 1, 1),
    ("1 row, 32 connections", 1, 32),
    ("1,000 rows", 1000, 1),
    ("10,000 rows", 10_000, 1),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2 s runs, 1 repetition")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.reps = 2, 1
    x, names = prepare()
    deployed_venv()
    mlserver_venv()
    pool = servers(x, names)

    def scenarios(server: Server) -> None:
        for label, rows, connections in SCENARIOS:
            if rows >= 10_000 and server.name == "mlflow-serve" and args.quick:
                continue
            measure(server, label, server.body(rows), connections, args.seconds)

    alternate(pool, args.reps, scenarios)
    mojo = mojo_scenarios(args.seconds, args.reps)
    report(pool, mojo, args)


def mojo_scenarios(seconds: int, reps: int) -> Server:
    """The H2O-3 MOJO (100-tree binomial GBM) and Shapley contributions, on this server only."""
    from tests.server_process import REPO as root

    rows_source = (MOJO.with_suffix(".input.csv")).read_text().splitlines()
    fields = rows_source[0].split(",")
    table = [line.split(",") for line in rows_source[1:]]

    def body(rows: int, **extra: object) -> dict:
        return {"fields": fields, "rows": [table[i % len(table)] for i in range(rows)], **extra}

    server = Server(
        "ours-h2o-mojo",
        [sys.executable, "-m", "scoring_runtime", "serve", str(MOJO), "--host", "127.0.0.1"],
        "/readyz",
        "/model/score",
        body,
        root,
    )
    for _ in range(reps):
        start(server)
        try:
            for label, rows, connections in SCENARIOS:
                measure(server, label, body(rows), connections, seconds)
            measure(server, "1,000 rows + contributions", body(1000, requestShapleyValueType="ORIGINAL"), 1, seconds)
            server.results.setdefault("rss", []).append({"rss_mb": rss_mb(server.process.pid)})
            server.results.setdefault("ready", []).append({"ready_s": server.ready_seconds})
        finally:
            stop(server)
    return server


def _median(server: Server, label: str, key: str) -> float | None:
    runs = server.results.get(label)
    return statistics.median(r[key] for r in runs) if runs else None


def report(pool: list[Server], mojo: Server, args: argparse.Namespace) -> None:
    best = next((s for s in pool if s.name == "mlserver-best"), None)
    lines = [
        "# Benchmark results",
        "",
        f"Date {date.today()}; {platform.node()}, {os.cpu_count()} cores, {_cpu_model()}; Python {platform.python_version()};",
        f"wrk runs of {args.seconds} s, median of {args.reps} repetitions, servers alternating; "
        f"mlserver {_version(MLSERVER / 'bin' / 'python', 'mlserver')}, mlflow {mlflow.__version__}, scikit-learn {_sklearn()}.",
        "Model: GradientBoostingClassifier, 100 trees, depth 3, breast-cancer data (30 float features).",
        "",
        "| server | scenario | req/s | p50 ms | p99 ms | server CPU ms/req | vs mlserver-best req/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for server in [*pool, mojo]:
        for label in [s[0] for s in SCENARIOS] + ["1,000 rows + contributions"]:
            rps = _median(server, label, "rps")
            if rps is None:
                continue
            ratio = ""
            if best is not None and server is not best and _median(best, label, "rps"):
                ratio = f"{rps / _median(best, label, 'rps'):.2f}x"
            lines.append(
                f"| {server.name} | {label} | {rps:,.0f} | {_median(server, label, 'p50_ms'):.3f} | "
                f"{_median(server, label, 'p99_ms'):.3f} | {_median(server, label, 'cpu_ms_per_request'):.3f} | {ratio} |"
            )
    lines += [
        "",
        "Floors: the model behind a raw ASGI callable and behind one FastAPI endpoint (bench/floor.py),",
        "with no checks, logging or metrics. RSS after every scenario. Ready: process start to a 200",
        "from the readiness path; each server starts minutes after its last run, with its files partly",
        "out of the page cache (back-to-back starts of the same server are ~0.35 s faster).",
        "",
        "| server | RSS MB (all processes) | ready s |",
        "|---|---|---|",
    ]
    for server in [*pool, mojo]:
        lines.append(
            f"| {server.name} | {_median(server, 'rss', 'rss_mb'):.0f} | {_median(server, 'ready', 'ready_s'):.2f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    write_results("bench.compare", text)


def _cpu_model() -> str:
    match = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    return match.group(1).strip() if match else platform.processor()


def _version(python: Path, package: str) -> str:
    if not python.exists():
        return "not installed"
    return subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version('{package}'))"],
        capture_output=True,
        text=True,
    ).stdout.strip()


def _sklearn() -> str:
    import sklearn

    return sklearn.__version__


if __name__ == "__main__":
    main()
