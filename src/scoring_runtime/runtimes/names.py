"""The runtimes' names, and the H2O MLOps names that mean the same runtime, so a deployment
described for MLOps (`--runtime h2o3_mojo_runtime`, `runtime: dai/mojo_pipeline`) works here
unchanged."""

from __future__ import annotations

from scoring_runtime.core.errors import ModelLoadError

MLOPS_NAMES: dict[str, tuple[str, ...]] = {
    "h2o3_mojo": ("h2o3/mojo", "h2o3_mojo_runtime"),
    "dai_mojo": ("dai/mojo_pipeline", "dai_mojo_pipeline", "dai_mojo_runtime", "dai-mojo-cpp_experimental"),
    "mlflow": ("python/mlflow",),
    "pickle": ("python/pickle",),
    "model_source": (),
}
"""Ours, then MLOps's: its artifact type first, then its runtime names."""

_UNSUPPORTED = {
    "dai/scoring_pipeline": "the Driverless AI Python scoring pipeline is not supported; "
    "export the MOJO pipeline (dai/mojo_pipeline) instead",
}
_BY_NAME = {name.lower(): ours for ours, names in MLOPS_NAMES.items() for name in (ours, *names)}


def canonical_runtime(name: str) -> str:
    """Our runtime for one of its names (case and surrounding spaces ignored)."""
    key = name.strip().lower()
    if key in _UNSUPPORTED:
        raise ModelLoadError(f"Runtime '{name}': {_UNSUPPORTED[key]}.")
    if key not in _BY_NAME:
        raise ModelLoadError(f"Unknown runtime '{name}'; choose one of {', '.join(MLOPS_NAMES)} (or {_mlops_list()}).")
    return _BY_NAME[key]


def mlops_names(runtime: str) -> dict[str, object]:
    """How H2O MLOps names this runtime: its artifact type and runtimes (empty when MLOps has none)."""
    names = MLOPS_NAMES.get(runtime, ())
    return {"artifactType": names[0], "runtimes": list(names[1:])} if names else {}


def _mlops_list() -> str:
    return ", ".join(name for names in MLOPS_NAMES.values() for name in names)
