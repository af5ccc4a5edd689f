"""The deployments file: which models a server loads and how requests reach them.

Read once at start (and again on `SIGHUP` or a repository load). Every problem that can be
seen without loading a model is one `ConfigError` sentence naming the file and the entry; the
one check that needs the models (variants read the same input fields) is the registry's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from scoring_runtime.core.errors import ConfigError

NAME = re.compile(r"^[A-Za-z0-9._-]+$")
DEFAULT_DEPLOYMENT = "default"


class ModelEntry(BaseModel):
    """One model: any artifact `scorer serve` accepts, and what would otherwise be its settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path
    id: str | None = None
    """The H2O model id the API reports; default as for a single model."""
    runtime: str | None = None
    version: str = "1"
    sha256: str | None = None


class DeploymentEntry(BaseModel):
    """One deployment: exactly one of `model`, `ab`, or `champion` (with `challengers`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = None
    ab: dict[str, int] | None = None
    champion: str | None = None
    challengers: tuple[str, ...] = ()

    @field_validator("ab", mode="before")
    @classmethod
    def _whole_weights(cls, value: object) -> object:
        """`70.5` or `true` is not a weight: refuse what pydantic would quietly coerce."""
        if isinstance(value, dict):
            for variant, weight in value.items():
                if isinstance(weight, bool) or not isinstance(weight, int) or weight <= 0:
                    raise ValueError(f"the weight of '{variant}' must be a positive integer, not {weight!r}")
        return value


@dataclass(frozen=True)
class Deployments:
    """A read deployments file (or the single model of a plain `scorer serve MODEL`)."""

    models: dict[str, ModelEntry]
    deployments: dict[str, DeploymentEntry] = field(default_factory=dict)
    source: Path | None = None
    """The file it was read from; None for a single model given on the command line."""

    def members(self, deployment: str) -> tuple[str, ...]:
        """The models a deployment uses, the answering one (or the first variant) first."""
        entry = self.deployments[deployment]
        if entry.model is not None:
            return (entry.model,)
        if entry.ab is not None:
            return tuple(entry.ab)
        assert entry.champion is not None
        return (entry.champion, *entry.challengers)


def single_model(name: str, path: Path, entry: dict[str, Any] | None = None) -> Deployments:
    """A plain `scorer serve MODEL`: one model, no declared deployment (the root serves it)."""
    return Deployments({name: ModelEntry(path=path, **(entry or {}))})


def read_deployments(path: Path) -> Deployments:
    """Read and check a deployments file; paths inside it are relative to its folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"The deployments file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The deployments file {path} cannot be read ({exc}).") from None
    document = _parse(path, text)
    if not isinstance(document, dict) or not isinstance(document.get("models"), dict) or not document["models"]:
        raise ConfigError(f"{path}: the file needs a 'models' mapping with at least one model.")
    unknown = set(document) - {"models", "deployments"}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key '{sorted(unknown)[0]}'; the keys are models and deployments.")
    raw_deployments = document.get("deployments") or {}
    if not isinstance(raw_deployments, dict):
        raise ConfigError(f"{path}: 'deployments' must be a mapping of deployment names.")
    models = {name: _entry(path, ModelEntry, "model", name, value) for name, value in document["models"].items()}
    deployments = {
        name: _entry(path, DeploymentEntry, "deployment", name, value) for name, value in raw_deployments.items()
    }
    folder = path.parent
    models = {
        name: entry.model_copy(update={"path": folder / entry.path}) if not entry.path.is_absolute() else entry
        for name, entry in models.items()
    }
    config = Deployments(models, deployments, path)
    _check(config, path)
    return config


def _parse(path: Path, text: str) -> object:
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text, object_pairs_hook=_unique_pairs)
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"{path} is not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {_first_line(exc)}."
        ) from None


def _entry(path: Path, kind: type[BaseModel], what: str, name: object, value: object) -> Any:
    if not isinstance(name, str) or not NAME.match(name):
        raise ConfigError(f"{path}: the {what} name {name!r} may use only letters, digits, '.', '_' and '-'.")
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {what} '{name}' must be a mapping of its settings.")
    try:
        return kind.model_validate(value)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        prefix = f"'{where}' " if where else ""
        if error["type"] == "extra_forbidden":
            message = "is not a setting it takes"
        raise ConfigError(f"{path}: {what} '{name}': {prefix}{message}.") from None


def _check(config: Deployments, path: Path) -> None:
    for name, model in config.models.items():
        if not model.path.exists():
            raise ConfigError(f"{path}: model '{name}': the artifact {model.path} does not exist.")
    for name, entry in config.deployments.items():
        if name in config.models:
            raise ConfigError(f"{path}: the name '{name}' is used by a model and a deployment; names must be unique.")
        shapes = [entry.model is not None, entry.ab is not None, entry.champion is not None]
        if sum(shapes) != 1:
            raise ConfigError(f"{path}: deployment '{name}' needs exactly one of model, ab or champion.")
        if entry.challengers and entry.champion is None:
            raise ConfigError(f"{path}: deployment '{name}' has challengers but no champion.")
        if entry.ab is not None and not entry.ab:
            raise ConfigError(f"{path}: deployment '{name}' has an empty A/B test; give it at least one variant.")
        members = config.members(name)
        for member in members:
            if member not in config.models:
                known = ", ".join(config.models)
                raise ConfigError(
                    f"{path}: deployment '{name}' names the model '{member}', which is not one of {known}."
                )
        if len(set(members)) != len(members):
            raise ConfigError(f"{path}: deployment '{name}' names the same model twice.")


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML keeps the last of two equal keys; a name used twice must be an error instead."""


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(f"the name '{key}' is used twice (line {key_node.start_mark.line + 1})")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ConfigError(f"the name '{key}' is used twice")
        result[key] = value
    return result


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0].rstrip(".:") if str(exc).strip() else type(exc).__name__
