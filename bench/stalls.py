"""Event-loop stalls: a small request's latency while big requests are being handled.

    .venv/bin/python -m bench.stalls [--seconds 20]

The hydraulic pickle (16 numeric inputs) on one worker, default settings. One client sends
single-row requests back to back on a kept-alive connection; beside it another sends big
requests one after another: a 100,000-row request (22 MB), then a 64 MiB one (100,000 rows whose
cells are padded to 37 characters). Reported: the small requests' p50/p99/worst, per scenario,
and how long a big request took. Puts its table into bench/RESULTS.md (its own section).
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
import urllib.parse
from datetime import date

import numpy as np
import pandas as pd

from bench.common import serve, write_results
from tests.server_process import REPO

MODEL = REPO / "models" / "hydraulic" / "cool_cond_y.joblib"
ROWS = 100_000


def _post(connection: http.client.HTTPConnection, body: bytes) -> float:
    started = time.perf_counter()
    connection.request("POST", "/model/score", body, {"Content-Type": "application/json"})
    answer = connection.getresponse()
    answer.read()
    if answer.status != 200:
        raise RuntimeError(f"status {answer.status}")
    return time.perf_counter() - started


def _bodies() -> tuple[bytes, dict[str, bytes]]:
    table = pd.read_csv(MODEL.with_suffix(".input.csv"), dtype=str, keep_default_na=False)
    table = table[(table != "NA").all(axis=1)]  # a GradientBoostingClassifier takes no missing values
    fields = list(table.columns)
    cells = table.to_numpy().tolist()
    small = json.dumps({"fields": fields, "rows": cells[:1]}).encode()
    rows = (cells * (ROWS // len(cells) + 1))[:ROWS]
    padded = [[f"{float(c):.40f}"[:37] for c in row] for row in rows]
    big = {
        "100,000 rows (22 MB)": json.dumps({"fields": fields, "rows": rows}).encode(),
        "64 MiB body (100,000 rows)": json.dumps({"fields": fields, "rows": padded}).encode(),
    }
    return small, big


def measure(url: str, small: bytes, big: bytes | None, seconds: float) -> dict[str, float]:
    address = urllib.parse.urlsplit(url)
    stop = threading.Event()
    big_times: list[float] = []

    def send_big() -> None:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
        while not stop.is_set():
            big_times.append(_post(connection, big))
        connection.close()

    sender = threading.Thread(target=send_big) if big is not None else None
    if sender:
        sender.start()
        time.sleep(0.2)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
    times = []
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        times.append(_post(connection, small))
        time.sleep(0.005)
    stop.set()
    connection.close()
    if sender:
        sender.join()
    small_ms = np.array(times) * 1000
    return {
        "p50": float(np.percentile(small_ms, 50)),
        "p99": float(np.percentile(small_ms, 99)),
        "worst": float(small_ms.max()),
        "big": float(np.median(big_times)) if big_times else float("nan"),
        "big_count": len(big_times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--label", default="", help="a note for the table, e.g. the commit measured")
    args = parser.parse_args()
    small, bigs = _bodies()
    server, _ = serve(MODEL)
    try:
        results = {"no big request": measure(server.url, small, None, args.seconds / 2)}
        for name, body in bigs.items():
            results[name] = measure(server.url, small, body, args.seconds)
    finally:
        server.stop()
    lines = [
        f"## Event-loop stalls ({date.today()}, `python -m bench.stalls`{', ' + args.label if args.label else ''})",
        "",
        "Hydraulic pickle, one worker, defaults: single-row requests back to back beside big requests sent one",
        f"after another for {args.seconds:g} s.",
        "",
        "| beside | small p50 | small p99 | small worst | big request took (median) | big requests |",
        "|---|---|---|---|---|---|",
    ]
    for name, figures in results.items():
        took = "—" if figures["big_count"] == 0 else f"{figures['big']:.2f} s"
        lines.append(
            f"| {name} | {figures['p50']:.1f} ms | {figures['p99']:.1f} ms | {figures['worst']:.0f} ms | "
            f"{took} | {figures['big_count']} |"
        )
    text = "\n".join(lines)
    print(text)
    write_results("stalls", text)


if __name__ == "__main__":
    main()
