"""From the settings to what the registry serves: the deployments (a file, or the one model
given), and how each entry is loaded with the settings every model shares."""

from __future__ import annotations

from collections.abc import Callable

from scoring_runtime.core.model import ServedModel
from scoring_runtime.deployments.config import Deployments, ModelEntry, read_deployments, single_model
from scoring_runtime.runtimes import artifact_name, load_model
from scoring_runtime.settings import ModelSettings, Settings


def deployments_of(settings: Settings) -> Deployments:
    """The deployments file when one is configured (read again on every call), else the single model."""
    if settings.server.config is not None:
        return read_deployments(settings.server.config)
    model = settings.model
    entry = {
        "id": model.model_id,
        "runtime": model.runtime,
        "version": model.model_version,
        "sha256": model.model_sha256,
    }
    return single_model(model.model_name or artifact_name(model.model_path), model.model_path, entry)


def entry_loader(settings: Settings) -> Callable[[str, ModelEntry], ServedModel]:
    """Load one entry with the shared settings, the entry's own fields winning."""

    def load(name: str, entry: ModelEntry) -> ServedModel:
        return load_model(Settings(settings.server, model_settings(settings.model, name, entry)))

    return load


def model_settings(shared: ModelSettings, name: str, entry: ModelEntry) -> ModelSettings:
    return shared.model_copy(
        update={
            "model": entry.path,
            "model_name": name,
            "model_id": entry.id,
            "runtime": entry.runtime,
            "model_version": entry.version,
            "model_sha256": entry.sha256,
        }
    )
