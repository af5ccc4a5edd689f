"""The README's batch section run as written: `scorer score` here and on a local Spark, and the
PySpark notebook snippet."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.server_process import REPO

pytestmark = pytest.mark.slow


def _section() -> str:
    readme = (REPO / "README.md").read_text()
    start = readme.index("## Batch scoring: one machine or Spark")
    return readme[start : readme.index("\n## ", start + 1)]


def _run(script: str, tmp_path, *command: str) -> subprocess.CompletedProcess:
    text = script.replace("/tmp/", f"{tmp_path}/").replace(".venv/bin/python", sys.executable)
    text = text.replace(".venv/bin/scorer", f"{sys.executable} -m scoring_runtime")
    # as in a notebook started from the activated environment: its python3 is the workers' too
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run([*command, text], capture_output=True, text=True, cwd=REPO, timeout=600, env=env)


def test_the_readme_batch_commands_and_notebook_run_as_written(tmp_path):
    pytest.importorskip("pyspark")
    blocks = re.findall(r"```(sh|python)\n(.*?)\n```", _section(), re.S)
    shells = [body for kind, body in blocks if kind == "sh"]
    notebook = next(body for kind, body in blocks if kind == "python")
    for shell in shells:
        run = _run(f"set -euo pipefail\n{shell}", tmp_path, "bash", "-c")
        assert run.returncode == 0, run.stderr
    hydraulic = pd.read_csv(REPO / "models" / "data" / "hydraulic.csv")
    here, on_spark = pd.read_parquet(tmp_path / "scores.parquet"), pd.read_parquet(tmp_path / "scored.parquet")
    assert len(here) == len(on_spark) == len(hydraulic)
    pd.testing.assert_frame_equal(here, on_spark.astype({"cool_cond_y": here["cool_cond_y"].dtype}), check_dtype=False)
    shown = _run(notebook, tmp_path, sys.executable, "-c")
    assert shown.returncode == 0, shown.stderr
    assert "cool_cond_y.100" in shown.stdout and "only showing top 3 rows" in shown.stdout
