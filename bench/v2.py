"""The Open Inference Protocol side by side: this server's V2 (JSON and binary tensors) and
MLServer's best configuration, on the same model and the same V2 body.

    .venv/bin/python -m bench.v2 [--seconds 10] [--reps 3]

The model and MLServer's environment are bench.compare's (GradientBoostingClassifier, 100
trees, breast-cancer data, 30 floats; MLServer 1.7.1 with parallel_workers=0, debug off, from
.venvs/mlserver). Scenarios: one row at 1 and 32 connections, 1,000 and 10,000 rows, each a
`[N, 30]` FP64 tensor; MLServer is asked for `predict_proba` (its default output is `predict`),
this server answers the class probabilities by default. Binary: the tensor's raw bytes after
the JSON header, outputs binary too (what tritonclient sends by default). Prints a table and
puts it into bench/RESULTS.md (its own section).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

import httpx
import numpy as np

from bench.common import cpu_seconds, write_results, wrk_raw
from bench.compare import SCENARIOS, WORK, Server, _median, alternate, prepare
from bench.environments import MLSERVER
from tests.server_process import REPO


def json_body(x: np.ndarray, rows: int, outputs: list[str] | None) -> tuple[bytes, dict[str, str]]:
    batch = np.resize(x, (rows, x.shape[1]))
    request: dict = {
        "inputs": [{"name": "input-0", "shape": list(batch.shape), "datatype": "FP64", "data": batch.ravel().tolist()}]
    }
    if outputs:
        request["outputs"] = [{"name": name} for name in outputs]
    return json.dumps(request).encode(), {"Content-Type": "application/json"}


def binary_body(x: np.ndarray, rows: int) -> tuple[bytes, dict[str, str]]:
    batch = np.ascontiguousarray(np.resize(x, (rows, x.shape[1])), dtype="<f8")
    raw = batch.tobytes()
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "input-0",
                    "shape": list(batch.shape),
                    "datatype": "FP64",
                    "parameters": {"binary_data_size": len(raw)},
                }
            ],
            "parameters": {"binary_data_output": True},
        }
    ).encode()
    return header + raw, {
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(len(header)),
    }


def measure(server: Server, label: str, body: tuple[bytes, dict[str, str]], connections: int, seconds: int) -> None:
    content, headers = body
    url = server.url + server.score_path
    with httpx.Client(timeout=60) as client:  # warm-up, and a check that the body is accepted
        client.post(url, content=content, headers=headers).raise_for_status()
    before = cpu_seconds(server.process.pid)
    result = wrk_raw(url, content, headers, connections, seconds)
    result["cpu_ms_per_request"] = 1000 * (cpu_seconds(server.process.pid) - before) / max(result["rps"] * seconds, 1)
    server.results.setdefault(label, []).append(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    x, _ = prepare()
    if not (MLSERVER / "bin" / "mlserver").exists():
        raise SystemExit(f"MLServer is not installed in {MLSERVER} (see bench.compare)")
    ours = [sys.executable, "-m", "scoring_runtime", "serve", str(WORK / "gbm.joblib"), "--host", "127.0.0.1"]
    pool = [
        Server("ours-v2-json", ours, "/v2/health/ready", "/v2/models/gbm/infer", lambda n: json_body(x, n, None), REPO),
        Server("ours-v2-binary", ours, "/v2/health/ready", "/v2/models/gbm/infer", lambda n: binary_body(x, n), REPO),
        Server(
            "mlserver-best",
            [str(MLSERVER / "bin" / "mlserver"), "start", str(WORK / "mlserver-best")],
            "/v2/health/ready",
            "/v2/models/gbm/infer",
            lambda n: json_body(x, n, ["predict_proba"]),
        ),
    ]

    def scenarios(server: Server) -> None:
        for label, rows, connections in SCENARIOS:
            measure(server, label, server.body(rows), connections, args.seconds)

    alternate(pool, args.reps, scenarios)
    report(pool, args)


def report(pool: list[Server], args: argparse.Namespace) -> None:
    best = pool[-1]
    lines = [
        "## The Open Inference Protocol (V2): this server against MLServer (python -m bench.v2)",
        "",
        f"Date {date.today()}; wrk runs of {args.seconds} s, median of {args.reps} repetitions, servers alternating.",
        "Model: GradientBoostingClassifier, 100 trees, depth 3, breast-cancer data; body: one [N, 30] FP64 tensor.",
        "",
        "| server | scenario | req/s | p50 ms | p99 ms | server CPU ms/req | CPU vs mlserver-best | p50 vs mlserver-best |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for server in pool:
        for label, _, _ in SCENARIOS:
            cpu, p50 = _median(server, label, "cpu_ms_per_request"), _median(server, label, "p50_ms")
            ratios = ("", "") if server is best else (
                f"{cpu / _median(best, label, 'cpu_ms_per_request'):.2f}x",
                f"{p50 / _median(best, label, 'p50_ms'):.2f}x",
            )  # fmt: skip
            lines.append(
                f"| {server.name} | {label} | {_median(server, label, 'rps'):,.0f} | {p50:.3f} | "
                f"{_median(server, label, 'p99_ms'):.3f} | {cpu:.3f} | {ratios[0]} | {ratios[1]} |"
            )
    lines += ["", "| server | RSS MB |", "|---|---|"]
    lines += [f"| {s.name} | {_median(s, 'rss', 'rss_mb'):.0f} |" for s in pool]
    text = "\n".join(lines) + "\n"
    print(text)
    write_results("bench.v2", text)


if __name__ == "__main__":
    main()
