"""The virtualenvs the peers and our deployed server run from, made or refreshed on demand so a
benchmark is one command on a fresh clone (pip skips what is installed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.server_process import REPO

MLSERVER = REPO / ".venvs" / "mlserver"
MLSERVER_PACKAGES = ["mlserver==1.7.1", "mlserver-sklearn==1.7.1", "uvloop<0.22"]
"""uvloop<0.22: MLServer 1.7.1's default worker pool does not start with a newer one."""
DEPLOYED = REPO / ".venvs" / "ours-sklearn"
"""This server installed as a pickle deployment installs it (`pip install .[sklearn]`, like the
image with EXTRAS=sklearn): no pyarrow, which pandas imports when present (+33 MB per worker)."""


def mlserver_venv(*extra: str) -> Path:
    """MLServer 1.7.1 with its scikit-learn runtime and any `extra` packages (its XGBoost and
    LightGBM runtimes, say); the path of its `mlserver` command."""
    _venv(MLSERVER, [*MLSERVER_PACKAGES, *extra])
    return MLSERVER / "bin" / "mlserver"


def deployed_venv(*extra: str) -> Path:
    """This server with the `sklearn` extra, plus `extra` packages a model needs; its python."""
    _venv(DEPLOYED, ["-e", f"{REPO}[sklearn]", *extra])
    return DEPLOYED / "bin" / "python"


def wrk() -> None:
    """The load generator every benchmark drives, from Debian's package when it is missing."""
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)


def here(*packages: str) -> None:
    """`packages` in the interpreter running the benchmark (for its in-process floors)."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *packages], check=True)


def _venv(folder: Path, packages: list[str]) -> None:
    if not (folder / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    subprocess.run([str(folder / "bin" / "python"), "-m", "pip", "install", "-q", *packages], check=True)
