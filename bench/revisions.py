"""Side by side: this working tree's server and an earlier revision's, on the same models.

    .venv/bin/python -m bench.revisions REV [--seconds 10] [--reps 3]

For a change that should not move performance (a restructure): the breast-cancer GBM pickle and
the H2O-3 binomial MOJO, served by both, alternating within each repetition, through the same
scenarios as bench.compare (wrk on 127.0.0.1; server CPU from /proc). REV is checked out into
.bench/rev-<sha> (a git worktree); both run in this virtualenv. Prints a table of medians.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from bench.common import write_results
from bench.compare import MOJO, SCENARIOS, WORK, Server, _median, alternate, measure, prepare, servers
from tests.server_process import REPO


def checkout(rev: str) -> Path:
    sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=REPO, capture_output=True, text=True, check=True)
    tree = WORK / f"rev-{sha.stdout.strip()}"
    if not tree.exists():
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), rev], cwd=REPO, check=True, capture_output=True
        )
    return tree


def command(tree: Path, model: Path) -> tuple[list[str], dict[str, str]]:
    """How that tree serves a model: the package from its src/ (or its top-level `app` package)."""
    if (tree / "src" / "scoring_runtime").is_dir():
        return [sys.executable, "-m", "scoring_runtime", "serve", str(model), "--host", "127.0.0.1"], {
            "PYTHONPATH": str(tree / "src")
        }
    return [sys.executable, "-m", "app", "serve", str(model), "--host", "127.0.0.1"], {"PYTHONPATH": str(tree)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rev", help="the earlier revision, e.g. HEAD~3 or a commit")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    x, names = prepare()
    gbm_body = next(s for s in servers(x, names) if s.name == "ours").body
    rows = (MOJO.with_suffix(".input.csv")).read_text().splitlines()
    fields, table = rows[0].split(","), [line.split(",") for line in rows[1:]]

    def mojo_body(count: int) -> dict:
        return {"fields": fields, "rows": [table[i % len(table)] for i in range(count)]}

    pool = []
    for label, tree in ((args.rev, checkout(args.rev)), ("this tree", REPO)):
        for model, body, kind in ((WORK / "gbm.joblib", gbm_body, "pickle"), (MOJO, mojo_body, "mojo")):
            argv, env = command(tree, model)
            pool.append(Server(f"{label} {kind}", argv, "/readyz", "/model/score", body, tree, env))

    def scenarios(server: Server) -> None:
        for scenario, count, connections in SCENARIOS:
            measure(server, scenario, server.body(count), connections, args.seconds)

    alternate(pool, args.reps, scenarios)
    lines = [
        f"## This tree against {args.rev} (python -m bench.revisions {args.rev})",
        "",
        f"wrk runs of {args.seconds} s, median of {args.reps} repetitions, servers alternating.",
        "",
        "| server | scenario | req/s | p50 ms | p99 ms | server CPU ms/req |",
        "|---|---|---|---|---|---|",
    ]
    for server in pool:
        for scenario, _, _ in SCENARIOS:
            median = {key: _median(server, scenario, key) for key in ("rps", "p50_ms", "p99_ms", "cpu_ms_per_request")}
            lines.append(
                f"| {server.name} | {scenario} | {median['rps']:,.0f} | {median['p50_ms']:.3f} | "
                f"{median['p99_ms']:.3f} | {median['cpu_ms_per_request']:.3f} |"
            )
    lines += ["", "| server | RSS MB |", "|---|---|"]
    lines += [f"| {s.name} | {_median(s, 'rss', 'rss_mb'):.0f} |" for s in pool]
    text = "\n".join(lines) + "\n"
    print(text)
    write_results("bench.revisions", text)


if __name__ == "__main__":
    main()
