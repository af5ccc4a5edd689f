"""Shedding under a flood: goodput and probe latency when far more requests arrive than the
in-flight limit admits.

    .venv/bin/python -m bench.shedding [--seconds 15]

The airlines H2O-3 MOJO, 1,000-row requests, `SCORER_MAX_IN_FLIGHT=4`: wrk at 4 connections
(within the limit) and at 64 (16 times over it), shedding at once (`SCORER_ADMISSION_WAIT=0`) and
with the default wait; goodput = 2xx responses per second. During the flood `/readyz`, `/livez`
and `/metrics` are polled on their own connections; their p99 and worst latency are reported. Puts its table into bench/RESULTS.md (its own section).
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import subprocess
import tempfile
import threading
import time
import urllib.parse
from datetime import date

import numpy as np
import pandas as pd

from bench.common import serve, write_results
from tests.server_process import REPO

MODEL = REPO / "models" / "airlines" / "distance.zip"
PROBES = ("/readyz", "/livez", "/metrics")


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


def probe(url: str, stop: threading.Event, times: dict[str, list[float]]) -> None:
    """Each probe on a new connection, as a kubelet sends it; `http.client`, since creating an
    httpx client costs more CPU than the probe (it was measured as 150 ms of "probe latency")."""
    address = urllib.parse.urlsplit(url)
    while not stop.is_set():
        for path in PROBES:
            started = time.perf_counter()
            connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
            try:
                connection.request("GET", path)
                connection.getresponse().read()
                seconds = time.perf_counter() - started
            except OSError:
                seconds = 10.0
            finally:
                connection.close()
            times.setdefault(path, []).append(seconds)
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--waits", nargs="+", default=["0", "1.0"], help="SCORER_ADMISSION_WAIT values to compare")
    args = parser.parse_args()
    rows = pd.read_csv(MODEL.with_suffix(".input.csv"), dtype=str, keep_default_na=False)
    body = {"fields": list(rows.columns), "rows": (rows.to_numpy().tolist() * 1000)[:1000]}
    rows_out = []
    for wait in args.waits:
        server, _ = serve(MODEL, env={"SCORER_MAX_IN_FLIGHT": "4", "SCORER_ADMISSION_WAIT": wait})
        try:
            for connections in (4, 64):
                stop, times = threading.Event(), {}
                poller = threading.Thread(target=probe, args=(server.url, stop, times))
                poller.start()
                figures = flood(f"{server.url}/model/score", body, connections, args.seconds)
                stop.set()
                poller.join()
                rows_out.append((wait, connections, figures, times))
        finally:
            server.stop()
    lines = [
        f"## Shedding under a flood ({date.today()}, `python -m bench.shedding`)",
        "",
        f"Airlines MOJO, 1,000-row requests, `SCORER_MAX_IN_FLIGHT=4`, wrk {args.seconds} s; probes polled on new",
        "connections during it (p99 / worst).",
        "",
        "| admission wait | connections | responses/s | goodput (2xx/s) | shed (503) | "
        + " | ".join(f"{p} p99 / worst" for p in PROBES)
        + " |",
        "|---|---|---|---|---|" + "---|" * len(PROBES),
    ]
    for wait, connections, figures, times in rows_out:
        probes = " | ".join(f"{np.percentile(times[p], 99) * 1000:.0f} / {max(times[p]) * 1000:.0f} ms" for p in PROBES)
        lines.append(
            f"| {wait} s | {connections} | {figures['rps']:.0f} | {figures['goodput']:.0f} | "
            f"{figures['shed_share']:.0%} | {probes} |"
        )
    text = "\n".join(lines)
    print(text)
    write_results("shedding", text)


if __name__ == "__main__":
    main()
