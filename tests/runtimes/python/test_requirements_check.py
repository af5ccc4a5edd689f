"""Naming the versions a model was saved with that this environment does not have."""

from __future__ import annotations

import platform
from importlib import metadata

from scoring_runtime.runtimes.python.requirements_check import mismatched_requirements, python_mismatch


def test_requirements_met_missing_and_mismatched_are_told_apart(tmp_path):
    numpy = metadata.version("numpy")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        f"# saved by MLflow\nmlflow\nnumpy=={numpy}\nscikit-learn==0.1.0\nno-such-package-here==1.0\n-r other.txt\n"
    )
    assert mismatched_requirements(requirements) == [
        f"scikit-learn==0.1.0 (installed {metadata.version('scikit-learn')})",
        "no-such-package-here==1.0 (not installed)",
    ]
    assert mismatched_requirements(tmp_path / "absent.txt") == []


def test_another_minor_python_is_named_and_a_patch_release_is_not():
    major, minor, _ = platform.python_version_tuple()
    assert python_mismatch(f"{major}.{minor}.0") == []
    assert python_mismatch(None) == []
    assert python_mismatch("3.8.10") == [f"Python 3.8.10 (running {platform.python_version()})"]
