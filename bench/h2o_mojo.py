"""Benchmark the H2O-3 MOJO runtime through HTTP on a 100-tree binomial GBM.

    .venv/bin/python -m bench.h2o_mojo

Prints: time to Ready, single-row p50/p99 and requests/s, and rows/s for a 10,000-row request with
and without Shapley contributions (all from wrk on one connection, 10 s, so no Python client is
inside the timing), and the server's RSS.
Targets from the issue (2-core machine): p50 <= 0.4 ms, >= 150k rows/s, ready <= 3 s, RSS <= 350 MB.
"""

from __future__ import annotations

import pandas as pd

from bench.common import rss_mb, serve, wrk
from tests.server_process import REPO

MODEL = REPO / "tests" / "fixtures" / "h2o" / "gbm_binomial.zip"


def request(rows: int, **extra: object) -> dict:
    held_out = pd.read_csv(MODEL.with_suffix(".input.csv"), dtype=str, keep_default_na=False)
    table = pd.concat([held_out] * (rows // len(held_out) + 1), ignore_index=True).iloc[:rows]
    return {"fields": list(table.columns), "rows": table.to_numpy().tolist(), **extra}


def main() -> None:
    server, ready = serve(MODEL)
    try:
        url = f"{server.url}/model/score"
        print(f"model: {MODEL.relative_to(REPO)} (100 trees, depth 4, 10 inputs)")
        print(f"ready after start: {ready:.2f} s")
        single = wrk(url, request(1), connections=1)
        print(
            f"1 row, 1 connection: p50 {single['p50_ms']:.3f} ms, p99 {single['p99_ms']:.3f} ms, {single['rps']:.0f} req/s"
        )
        single32 = wrk(url, request(1), connections=32)
        print(f"1 row, 32 connections: {single32['rps']:.0f} req/s, p50 {single32['p50_ms']:.2f} ms")
        for label, extra in (
            ("scores", {}),
            ("scores + ORIGINAL contributions", {"requestShapleyValueType": "ORIGINAL"}),
        ):
            batch = wrk(url, request(10_000, **extra), connections=1)
            print(
                f"10,000 rows, {label}: p50 {batch['p50_ms']:.1f} ms = {10_000 / (batch['p50_ms'] / 1e3):,.0f} rows/s"
            )
        print(f"RSS: {rss_mb(server.process.pid):.0f} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
