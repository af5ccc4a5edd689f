"""Model runtimes behind one `Scorer` interface, and `load_scorer` that picks one for an artifact.

Adapters are imported lazily so the base install never needs H2O, daimojo or MLflow, and a
missing dependency turns into one sentence naming the `pip install` that fixes it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import NamedTuple

from scoring_runtime.core.errors import ModelLoadError
from scoring_runtime.core.model import ServedModel, thread_budget
from scoring_runtime.core.scorer import Scorer
from scoring_runtime.core.types import Capability, ScoringType
from scoring_runtime.runtimes import calibration
from scoring_runtime.runtimes.artifacts import artifacts_in, detect_runtime, sha256_of, single_artifact_in
from scoring_runtime.runtimes.calibration import ConformalScorer
from scoring_runtime.runtimes.names import canonical_runtime
from scoring_runtime.runtimes.options import LoadOptions
from scoring_runtime.settings import Settings


class RuntimeEntry(NamedTuple):
    module: str
    extra: str | None
    accepts: str


RUNTIMES: dict[str, RuntimeEntry] = {
    "h2o3_mojo": RuntimeEntry(
        "scoring_runtime.runtimes.h2o3.mojo", "h2o", "an H2O-3 MOJO zip or folder (model.ini inside)"
    ),
    "dai_mojo": RuntimeEntry(
        "scoring_runtime.runtimes.dai.pipeline",
        "dai",
        "a Driverless AI pipeline.mojo, or a mojo-pipeline/ folder or zip",
    ),
    "mlflow": RuntimeEntry(
        "scoring_runtime.runtimes.python.mlflow_model", "mlflow", "an MLflow model folder or zip (an MLmodel file)"
    ),
    "pickle": RuntimeEntry("scoring_runtime.runtimes.python.pickled", None, "a .pkl, .pickle or .joblib file"),
    "model_source": RuntimeEntry(
        "scoring_runtime.runtimes.source.model_source",
        None,
        "a ModelOp model source: a folder or zip with one .py file tagged '# modelop.score'",
    ),
}


def accepted_artifacts() -> str:
    return "; ".join(entry.accepts for entry in RUNTIMES.values())


def resolve_runtime(path: Path, options: LoadOptions) -> str:
    """Name the runtime for `path`, raising the sentence a user needs when none fits."""
    if not path.exists():
        raise ModelLoadError(f"The model artifact {path} does not exist.")
    name = canonical_runtime(options.runtime) if options.runtime else detect_runtime(path)
    if name is None and len(found := artifacts_in(path)) > 1:
        names = ", ".join(p.name for p in found)
        raise ModelLoadError(
            f"{path} holds {len(found)} model artifacts ({names}); name the one to serve, "
            "or serve them all with a deployments file (--config)."
        )
    if name is None:
        raise ModelLoadError(f"{path} is not a model artifact this server knows; it accepts {accepted_artifacts()}.")
    return name


def verify_sha256(path: Path, expected: str | None) -> None:
    """Refuse an artifact whose bytes differ from the pinned hash, before any of it is loaded."""
    if expected is None:
        return
    actual = sha256_of(path)
    if actual.lower() != expected.strip().lower():
        raise ModelLoadError(f"The SHA-256 of {path} is {actual}, not the expected {expected}; refusing to load it.")


def load_adapter(name: str) -> type[Scorer]:
    """Import an adapter module, translating a missing dependency into the install to run."""
    entry = RUNTIMES[name]
    try:
        module = importlib.import_module(entry.module)
    except ModuleNotFoundError as exc:
        if exc.name == entry.module:
            raise ModelLoadError(f"The {name} runtime is not part of this version of scoring-runtime.") from exc
        hint = f"pip install 'scoring-runtime[{entry.extra}]'" if entry.extra else "pip install scoring-runtime"
        raise ModelLoadError(
            f"The {name} runtime needs the Python package '{exc.name}', which is not installed; run: {hint}."
        ) from exc
    return module.SCORER


def load_scorer(path: Path, options: LoadOptions | None = None) -> Scorer:
    """Detect, verify and load an artifact; every failure is a `ModelLoadError` sentence."""
    options = options or LoadOptions()
    path = single_artifact_in(path) or path
    name = resolve_runtime(path, options)
    verify_sha256(path, options.expected_sha256)
    adapter = load_adapter(name)
    scorer = adapter(path, options)  # type: ignore[call-arg]
    calibrated = calibration.load(path)
    if calibrated is None or Capability.SCORE_PREDICTION_INTERVAL in scorer.capabilities:
        return scorer
    if scorer.schema.scoring_type is not ScoringType.REGRESSION:
        raise ModelLoadError(
            f"{calibration.calibration_file(path)} calibrates intervals, but this model is not a regression."
        )
    return ConformalScorer(scorer, calibrated)


def artifact_name(path: Path) -> str:
    """What a model is called when nothing names it: its file or folder name without the extension."""
    artifact = single_artifact_in(path) or path
    return artifact.name if artifact.is_dir() else artifact.stem


def load_model(settings: Settings) -> ServedModel:
    """The configured artifact loaded and served by its settings, named after its file or folder
    unless the settings name it; raises `ModelLoadError` with a sentence for the user."""
    path = settings.model.model_path
    options = LoadOptions.from_settings(settings)
    scorer = thread_budget(settings.model, settings.server.workers).load(lambda: load_scorer(path, options))
    return ServedModel(scorer, settings.model, artifact_name(path), settings.server.workers)
