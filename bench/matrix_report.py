"""The tables `bench.matrix` prints and writes to bench/RESULTS.md: every server's medians, the
issue's targets per model kind as ratios, memory, and the in-process floors."""

from __future__ import annotations

import platform
import statistics
from datetime import date
from typing import TYPE_CHECKING

from bench.common import write_results

if TYPE_CHECKING:
    from bench.compare import Server
    from bench.matrix import Row

ONE, MANY, THOUSAND = "1 row, 1 connection", "1 row, 32 connections", "1,000 rows"


def _median(server: Server, label: str, key: str) -> float:
    runs = server.results.get(label, [])
    return statistics.median(run[key] for run in runs) if runs else float("nan")


def _find(row: Row, prefix: str) -> Server | None:
    return next((s for s in row.servers if s.name == f"{prefix}-{row.name}"), None)


def report(rows: list[Row], labels: list[str], seconds: int, reps: int, elapsed: float, every_model: bool) -> str:
    """The tables, also written to bench/RESULTS.md: a run of some models to a section of its own,
    so it never replaces the whole matrix's."""
    lines = [
        f"{date.today()}, Python {platform.python_version()}; one worker per server, wrk runs of {seconds} s, "
        f"medians of {reps} alternating repetitions ({elapsed / 60:.0f} min in all). `ours-X` is this server with "
        "its defaults over the H2O API, `-v2` the same over V2 JSON, `-off` with `SCORER_ACCELERATE=off`, `floor-X` uvicorn + orjson + the fastest verified "
        "path and nothing else, `mlserver-X` MLServer 1.7.1 (`parallel_workers=0`, debug off) on its own runtime.",
        "",
        "| model | server | scenario | req/s | p50 ms | p99 ms | server CPU ms/req |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for server in row.servers:
            for label in labels:
                lines.append(
                    f"| {row.name} | {server.name} | {label} | {_median(server, label, 'rps'):,.0f} | "
                    f"{_median(server, label, 'p50_ms'):.2f} | {_median(server, label, 'p99_ms'):.2f} | "
                    f"{_median(server, label, 'cpu_ms_per_request'):.3f} |"
                )
    lines += ["", *_targets(rows), "", *_memory(rows), "", *_floors(rows)]
    text = "\n".join(lines)
    subset = "" if every_model else " --models " + " ".join(row.name for row in rows)
    write_results(f"Model matrix (python -m bench.matrix{subset})", text)
    return text


def _targets(rows: list[Row]) -> list[str]:
    """The issue's targets as ratios of ours (defaults) to MLServer and to the floor."""
    lines = [
        "Targets (ours with defaults): single-row CPU/request ≤ 0.5x MLServer's, p50 ≤ MLServer's, 32-connection "
        "req/s ≥ 2x, 1,000-row p50 ≤ 1.2x (H2O API against V2), single-row CPU ≤ 2x the floor's:",
        "",
        "| model | 1-row CPU vs MLServer | 1-row p50 vs MLServer | 32-conn req/s vs MLServer | 1,000-row p50 vs MLServer "
        "| same, V2 against V2 | 1-row CPU vs floor |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ours, peer, floor = _find(row, "ours"), _find(row, "mlserver"), _find(row, "floor")
        ours_v2 = next((s for s in row.servers if s.name == f"ours-{row.name}-v2"), None)
        if ours is None:
            continue

        lines.append(
            f"| {row.name} | {_ratio(ours, peer, ONE, 'cpu_ms_per_request')} | {_ratio(ours, peer, ONE, 'p50_ms')} | "
            f"{_ratio(ours, peer, MANY, 'rps')} | {_ratio(ours, peer, THOUSAND, 'p50_ms')} | "
            f"{_ratio(ours_v2, peer, THOUSAND, 'p50_ms') if ours_v2 else '—'} | "
            f"{_ratio(ours, floor, ONE, 'cpu_ms_per_request')} |"
        )
    return lines


def _ratio(ours: Server, other: Server | None, label: str, key: str) -> str:
    if other is None:
        return "—"
    return f"{_median(ours, label, key) / _median(other, label, key):.2f}x"


def _memory(rows: list[Row]) -> list[str]:
    lines = ["| model | server | RSS MB after the scenarios | ready s |", "|---|---|---|---|"]
    for row in rows:
        for server in row.servers:
            lines.append(
                f"| {row.name} | {server.name} | {_median(server, 'rss', 'rss_mb'):.0f} | "
                f"{_median(server, 'ready', 'ready_s'):.2f} |"
            )
    return lines


def _floors(rows: list[Row]) -> list[str]:
    lines = ["In process, one row (ms), and the verified path's max abs difference on its verification rows:", ""]
    lines += ["| model | figure | value |", "|---|---|---|"]
    for row in rows:
        for figure, value in row.floors.items():
            shown = f"{value:.3g}" if "difference" in figure else f"{value:.4f} ms"
            lines.append(f"| {row.name} | {figure} | {shown} |")
    return lines
