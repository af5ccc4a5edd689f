"""What OpenTelemetry tracing costs: the bundled MOJO served with tracing off and with
`SCORER_OTEL_ENDPOINT` set, alternating in one run:

    python -m bench.tracing [--seconds 10] [--reps 3]

The collector is an HTTP endpoint in this process that reads each export and answers 200
(spans are batched by the SDK: its export thread's CPU is counted in the server's). Single row at
1 and 32 connections, 1,000 rows at 1 connection: req/s, p50, p99, server CPU per request; also
with OpenTelemetry's standard sampler settings at 10 %.
"""

from __future__ import annotations

import argparse
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.common import write_results
from bench.compare import REPO, TABLE_HEAD, Server, alternate, measure, median_rows

SCENARIOS = [("1 row, 1 connection", 1, 1), ("1 row, 32 connections", 1, 32), ("1,000 rows", 1000, 1)]
MODEL = REPO / "src" / "scoring_runtime" / "default_model" / "cool_cond_y.zip"
ROW = ["155.566", "104.933", "0.8627", "0.000211", "8.3729", "8.3215", "2.082", "8.871"]
ROW += ["35.356", "40.995", "38.319", "30.473", "2366.7", "0.5244", "1.3756", "19.581"]
FIELDS = ["psa_bar", "psb_bar", "psc_bar", "psd_bar", "pse_bar", "psf_bar", "fsa_vol_flow", "fsb_vol_flow"]
FIELDS += ["tsa_temp", "tsb_temp", "tsc_temp", "tsd_temp", "pump_eff", "vs_vib", "cool_pwr_pct", "eff_fact_pct"]


class Sink(BaseHTTPRequestHandler):
    exports = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        Sink.exports += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()

    def body(count: int) -> dict:
        return {"fields": FIELDS, "rows": [ROW] * count}

    command = [sys.executable, "-m", "scoring_runtime", "serve", str(MODEL), "--host", "127.0.0.1"]
    traced = {"SCORER_OTEL_ENDPOINT": f"http://127.0.0.1:{sink.server_port}"}
    sampled = {**traced, "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}
    pool = [
        Server("tracing off (default)", command, "/readyz", "/model/score", body, REPO),
        Server("tracing on, OTLP-HTTP", command, "/readyz", "/model/score", body, REPO, env=traced),
        Server("tracing on, 10 % sampled", command, "/readyz", "/model/score", body, REPO, env=sampled),
    ]

    def scenarios(server: Server) -> None:
        for label, count, connections in SCENARIOS:
            measure(server, label, server.body(count), connections, args.seconds)

    alternate(pool, args.reps, scenarios)
    lines = [
        f"The bundled MOJO, one worker, medians of {args.reps} alternating runs of {args.seconds} s "
        f"({Sink.exports} exports received):",
        "",
        *TABLE_HEAD,
    ]
    for server in pool:
        lines += median_rows(server, [label for label, _, _ in SCENARIOS])
    text = "\n".join(lines)
    print(text)
    write_results("Tracing: OpenTelemetry off and on", text)


if __name__ == "__main__":
    main()
