"""Micro-batching on or off, on the model matrix's pickles (accelerated as served by default):
does merging concurrent single-row requests ever delay a lone one, and what does it buy?

    python -m bench.batching [--seconds 5] [--reps 2] [--models gbm rf lr]

Run `python -m bench.matrix` first (it writes the pickles to .bench/matrix). Each model is served
with the defaults and with `SCORER_BATCH_MAX_ROWS=64` (`SCORER_BATCH_MAX_WAIT_MS` 2, its default),
servers alternating; single rows at 1, 8 and 32 connections.
"""

from __future__ import annotations

import argparse

from bench.common import write_results
from bench.compare import REPO, TABLE_HEAD, WORK, Server, alternate, measure, median_rows
from bench.environments import DEPLOYED
from bench.matrix import _breast_cancer

SCENARIOS = [("1 row, 1 connection", 1), ("1 row, 8 connections", 8), ("1 row, 32 connections", 32)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--models", nargs="*", default=["gbm", "rf", "lr"])
    args = parser.parse_args()
    x, _, names = _breast_cancer()

    def body(count: int) -> dict:
        return {"fields": names, "rows": [[repr(v) for v in x[i % len(x)].tolist()] for i in range(count)]}

    lines = [f"Single-row requests, one worker, medians of {args.reps} alternating runs of {args.seconds} s:", ""]
    lines += ["| model " + TABLE_HEAD[0], "|---" + TABLE_HEAD[1]]
    for name in args.models:
        path = WORK / "matrix" / f"{name}.joblib"
        serve = [str(DEPLOYED / "bin" / "python"), "-m", "scoring_runtime", "serve", str(path), "--host", "127.0.0.1"]
        pool = [
            Server(f"ours-{name}", serve, "/readyz", "/model/score", body, REPO),
            Server(
                f"ours-{name}-batching",
                serve,
                "/readyz",
                "/model/score",
                body,
                REPO,
                env={"SCORER_BATCH_MAX_ROWS": "64"},
            ),
        ]

        def scenarios(server: Server) -> None:
            for label, connections in SCENARIOS:
                measure(server, label, server.body(1), connections, args.seconds)

        alternate(pool, args.reps, scenarios)
        for server in pool:
            lines += median_rows(server, [label for label, _ in SCENARIOS], lead=f"{name} | ")
    text = "\n".join(lines)
    print(text)
    write_results("Micro-batching (python -m bench.batching)", text)


if __name__ == "__main__":
    main()
