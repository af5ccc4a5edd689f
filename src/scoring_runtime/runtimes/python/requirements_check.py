"""Does this environment have the library versions a model was saved with?

A model scored with another scikit-learn or XGBoost than it was trained with can answer
differently without any error, so differences are named at load (log and `scorer inspect`).
"""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

# Distributions that install the same importable package under another name.
_ALTERNATIVES = {"mlflow": ("mlflow", "mlflow-skinny")}


def mismatched_requirements(requirements_file: Path) -> list[str]:
    """One phrase per requirement the environment does not meet, e.g. `scikit-learn==1.4.2 (installed 1.9.1)`."""
    if not requirements_file.is_file():
        return []
    problems = []
    for line in requirements_file.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        installed = _installed_version(canonicalize_name(requirement.name))
        if installed is None:
            problems.append(f"{requirement} (not installed)")
        elif requirement.specifier and not requirement.specifier.contains(installed, prereleases=True):
            problems.append(f"{requirement} (installed {installed})")
    return problems


def python_mismatch(saved: str | None) -> list[str]:
    """`Python 3.10.4 (running 3.11.7)` when the model was saved by another minor version, whose
    pickles may not load or may behave differently; nothing when it does not say."""
    running = platform.python_version()
    if not saved or saved.split(".")[:2] == running.split(".")[:2]:
        return []
    return [f"Python {saved} (running {running})"]


def _installed_version(name: str) -> str | None:
    for candidate in _ALTERNATIVES.get(name, (name,)):
        try:
            return metadata.version(candidate)
        except metadata.PackageNotFoundError:
            continue
    return None
