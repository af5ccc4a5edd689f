"""The models a server serves, and whether it is ready: what routes ask instead of app state.

Today one model per server; it is loaded at start-up, self-checked, then served until shutdown,
when it is closed after the last request.
"""

from __future__ import annotations

from scoring_runtime.core.errors import NotFound, NotReady
from scoring_runtime.core.model import ServedModel


class ModelRegistry:
    def __init__(self) -> None:
        self._model: ServedModel | None = None
        self.ready = False
        """The model is loaded and scored its sample: what `/readyz` reports."""

    def serve(self, model: ServedModel, *, ready: bool) -> None:
        self._model = model
        self.ready = ready

    def get(self) -> ServedModel:
        """The served model; before it is loaded, every request for it is not ready."""
        if self._model is None:
            raise NotReady("The model is not loaded yet.")
        return self._model

    def find(self, name: str, version: str | None = None) -> ServedModel:
        """The model a protocol names (and, when given, at that version)."""
        model = self.get()
        if name != model.name:
            raise NotFound(f"There is no model '{name}'; this server serves '{model.name}'.")
        if version is not None and version != model.version:
            raise NotFound(f"The model '{name}' has no version '{version}'; it has version '{model.version}'.")
        return model

    def close(self) -> None:
        """Stop serving: readiness turns off and the model releases what it holds."""
        self.ready = False
        model, self._model = self._model, None
        if model is not None:
            model.close()
