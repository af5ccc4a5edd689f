"""Shedding under a flood: goodput and probe latency when far more requests arrive than the
in-flight limit admits.

    .venv/bin/python -m bench.shedding [--seconds 15]

The airlines H2O-3 MOJO, 1,000-row requests, `SCORER_MAX_IN_FLIGHT=4`: wrk at 4 connections
(within the limit) and at 64 (16 times over it); goodput = 2xx responses per second. During the
flood `/readyz`, `/livez` and `/metrics` are polled on their own connections; their worst latency
is reported. Puts its table into bench/RESULTS.md (its own section).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import threading
import time
from datetime import date

import httpx
import pandas as pd

from bench.common import serve, write_results
from tests.server_process import REPO

MODEL = REPO / "models" / "airlines" / "distance.zip"


def flood(url: str, body: dict, connections: int, seconds: int) -> dict[str, float]:
    """wrk's totals: all responses and the non-2xx ones per second."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as content:
        json.dump(body, content)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f'local f = io.open("{content.name}", "rb")\nwrk.body = f:read("*all")\nf:close()\n'
        )
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "-s", script.name, url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"(\d+) requests in", output).group(1))
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    failed = int(refused.group(1)) if refused else 0
    return {"rps": total / seconds, "goodput": (total - failed) / seconds, "shed_share": failed / max(total, 1)}


def probe(url: str, stop: threading.Event, worst: dict[str, float]) -> None:
    while not stop.is_set():
        for path in ("/readyz", "/livez", "/metrics"):
            started = time.perf_counter()
            try:
                httpx.get(url + path, timeout=10)
                seconds = time.perf_counter() - started
            except httpx.HTTPError:
                seconds = 10.0
            worst[path] = max(worst.get(path, 0.0), seconds)
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=15)
    args = parser.parse_args()
    rows = pd.read_csv(MODEL.with_suffix(".input.csv"), dtype=str, keep_default_na=False)
    body = {"fields": list(rows.columns), "rows": (rows.to_numpy().tolist() * 1000)[:1000]}
    server, _ = serve(MODEL, env={"SCORER_MAX_IN_FLIGHT": "4"})
    results = {}
    try:
        for connections in (4, 64):
            stop, worst = threading.Event(), {}
            poller = threading.Thread(target=probe, args=(server.url, stop, worst))
            poller.start()
            results[connections] = {**flood(f"{server.url}/model/score", body, connections, args.seconds), **worst}
            stop.set()
            poller.join()
    finally:
        server.stop()
    lines = [
        f"## Shedding under a flood ({date.today()}, `python -m bench.shedding`)",
        "",
        f"Airlines MOJO, 1,000-row requests, `SCORER_MAX_IN_FLIGHT=4`, wrk {args.seconds} s; worst probe latency during it.",
        "",
        "| connections | responses/s | goodput (2xx/s) | shed (503) | worst /readyz | worst /livez | worst /metrics |",
        "|---|---|---|---|---|---|---|",
    ]
    for connections, figures in results.items():
        lines.append(
            f"| {connections} | {figures['rps']:.0f} | {figures['goodput']:.0f} | {figures['shed_share']:.0%} | "
            f"{figures['/readyz'] * 1000:.0f} ms | {figures['/livez'] * 1000:.0f} ms | {figures['/metrics'] * 1000:.0f} ms |"
        )
    text = "\n".join(lines)
    print(text)
    write_results("shedding", text)


if __name__ == "__main__":
    main()
