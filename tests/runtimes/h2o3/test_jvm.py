"""The process's JVM, started where the server starts it."""

from __future__ import annotations

import subprocess
import sys

from tests.server_process import REPO

STARTED_ON_A_POOL_THREAD = """
from concurrent.futures import ThreadPoolExecutor
from scoring_runtime.runtimes import load_scorer
from scoring_runtime.settings import bundled_model

with ThreadPoolExecutor(1) as pool:
    scorer = pool.submit(load_scorer, bundled_model()).result()
print("loaded", scorer.info.runtime)
"""


def test_a_process_whose_jvm_a_pool_thread_started_exits_at_once():
    """Model loads run on a worker thread that ends before the process does; JPype's exit hook
    then waited forever for that thread in `DestroyJavaVM` (a SIGTERM drain never exited)."""
    done = subprocess.run(
        [sys.executable, "-c", STARTED_ON_A_POOL_THREAD], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("loaded")
