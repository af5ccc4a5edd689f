"""Shared pieces of the benchmarks: a real server process, wrk runs, timed requests, RSS.

Every load goes to 127.0.0.1 only, in bounded runs.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from tests.server_process import ServerProcess, start_server

WRK_SCRIPT = """wrk.method = "POST"
{headers}
local file = io.open("{body}", "rb")
wrk.body = file:read("*all")
file:close()
"""


def serve(model: Path, *args: str, env: dict[str, str] | None = None) -> tuple[ServerProcess, float]:
    """Start a server; returns it and the seconds from process start to `/readyz` = Ready."""
    logs = Path(tempfile.mkdtemp(prefix="bench-"))
    started = time.perf_counter()
    server = start_server(model, logs, *args, env=env)
    while httpx.get(f"{server.url}/readyz").status_code != 200:
        time.sleep(0.01)
    return server, time.perf_counter() - started


def process_tree(pid: int) -> list[int]:
    """A server process and its children (the workers)."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid, *map(int, children)]


def rss_mb(pid: int) -> float:
    """Resident memory of a server's process tree, in MB."""
    total = 0
    for each in process_tree(pid):
        status = Path(f"/proc/{each}/status").read_text()
        total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    return total / 1024


def cpu_seconds(pid: int, tree: bool = True) -> float:
    """User + system CPU time used so far by a server's process tree (or the process alone)."""
    ticks = 0
    for each in process_tree(pid) if tree else [pid]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk(url: str, body: dict, connections: int, seconds: int = 10) -> dict[str, float]:
    """A bounded wrk run POSTing `body` as JSON; requests/s and latency percentiles in ms."""
    return wrk_raw(url, json.dumps(body).encode(), {"Content-Type": "application/json"}, connections, seconds)


def wrk_raw(url: str, body: bytes, headers: dict[str, str], connections: int, seconds: int = 10) -> dict[str, float]:
    """A bounded wrk run POSTing these bytes with these headers (binary bodies too)."""
    with tempfile.NamedTemporaryFile("wb", suffix=".body", delete=False) as content:
        content.write(body)
    lines = "\n".join(f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(headers=lines, body=content.name))
    threads = min(connections, 2)
    try:
        output = subprocess.run(
            [
                "wrk",
                "-t",
                str(threads),
                "-c",
                str(connections),
                "-d",
                f"{seconds}s",
                "--latency",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
        os.unlink(content.name)
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for label in ("50", "99"):
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", output).groups()
        result[f"p{label}_ms"] = float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["errors"] = float(errors.group(1)) if errors else 0.0
    return result


def timed_posts(url: str, body: dict, repeat: int) -> list[float]:
    """Seconds per request over one keep-alive connection (after warm-up); the body is encoded
    once, so the client's own JSON encoding is not timed."""
    content = json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    with httpx.Client(timeout=120) as client:
        for _ in range(3):
            client.post(url, content=content, headers=headers).raise_for_status()
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            client.post(url, content=content, headers=headers).raise_for_status()
            times.append(time.perf_counter() - start)
    return times


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1e3


RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_results(section: str, text: str) -> None:
    """Put `text` into bench/RESULTS.md as the named section, replacing that section's last
    figures and keeping every other benchmark's."""
    begin, end = f"<!-- {section} -->", f"<!-- /{section} -->"
    current = RESULTS.read_text() if RESULTS.exists() else ""
    block = f"{begin}\n{text.rstrip()}\n{end}\n"
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        current = head + block + rest.split(end, 1)[1].lstrip("\n")
    else:
        current = (current.rstrip() + "\n\n" if current.strip() else "") + block
    RESULTS.write_text(current)
