"""The schema sidecar: `<artifact>.schema.json` or `schema.json` beside an artifact.

It holds exactly the `schema` object that `GET /model/schema` reports, so a user can take a
server's answer, edit it and ship it with the next artifact. It wins over inference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from scoring_runtime.core.errors import ModelLoadError
from scoring_runtime.core.images import check_augmentations
from scoring_runtime.core.types import DataType, Field


@dataclass(frozen=True)
class Sidecar:
    inputs: tuple[Field, ...]
    outputs: tuple[Field, ...]
    targets: tuple[Field, ...]
    media_fields: tuple[str, ...]
    path: Path
    media_kind: str | None = None
    augmentations: tuple[str, ...] = ()


def find_sidecar(artifact: Path) -> Path | None:
    candidates = [artifact.with_name(artifact.name + ".schema.json"), artifact.parent / "schema.json"]
    if artifact.is_dir():
        candidates.insert(0, artifact / "schema.json")
    return next((c for c in candidates if c.is_file()), None)


def load_sidecar(artifact: Path) -> Sidecar | None:
    path = find_sidecar(artifact)
    if path is None:
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict):
            raise ValueError("the document is not a JSON object")
        sidecar = Sidecar(
            inputs=_fields(document, "inputFields"),
            outputs=_fields(document, "outputFields"),
            targets=_fields(document, "targetFields"),
            media_fields=tuple(str(name) for name in document.get("mediaFields") or ()),
            path=path,
            media_kind=document.get("mediaType"),
            augmentations=check_augmentations(document.get("testTimeAugmentation") or (), str(path)),
        )
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ModelLoadError(f"The schema sidecar {path} is not valid: {exc}.") from exc
    unknown = sorted(set(sidecar.media_fields) - {f.name for f in sidecar.inputs})
    if sidecar.inputs and unknown:
        raise ModelLoadError(f"The schema sidecar {path} names media fields that are not inputs: {unknown}.")
    return sidecar


def _fields(document: dict, key: str) -> tuple[Field, ...]:
    raw = document.get(key)
    if raw is None:
        return ()
    fields = []
    for item in raw:
        try:
            data_type = DataType(item["dataType"])
        except ValueError:
            allowed = ", ".join(t.value for t in DataType)
            raise ValueError(f"'{item['dataType']}' of '{item['name']}' is not one of {allowed}") from None
        levels = item.get("levels")
        fields.append(Field(str(item["name"]), data_type, tuple(map(str, levels)) if levels else None))
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise ValueError(f"'{key}' repeats a field name")
    return tuple(fields)
