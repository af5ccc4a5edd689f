"""Facts about an artifact on disk: its digest, a stable id, and what kind of model it holds."""

from __future__ import annotations

import hashlib
import uuid
import zipfile
from pathlib import Path

from scoring_runtime.runtimes.source.tags import holds_score_tag, source_file

PICKLE_SUFFIXES = frozenset({".pkl", ".pickle", ".joblib"})
ARTIFACT_SUFFIXES = PICKLE_SUFFIXES | {".zip", ".mojo"}
_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, or of a folder as the sorted (relative path, file digest) list."""
    if path.is_dir():
        outer = hashlib.sha256()
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            outer.update(item.relative_to(path).as_posix().encode())
            outer.update(bytes.fromhex(sha256_of(item)))
        return outer.hexdigest()
    inner = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            inner.update(chunk)
    return inner.hexdigest()


def stable_id(path: Path) -> str:
    """A UUID-shaped id derived from the artifact's bytes, for artifacts that carry none."""
    return str(uuid.UUID(bytes=bytes.fromhex(sha256_of(path))[:16]))


def single_artifact_in(folder: Path) -> Path | None:
    """A folder that is not itself a model but holds exactly one artifact file (e.g. a volume
    mounted at /models) stands for that file."""
    found = artifacts_in(folder)
    return found[0] if len(found) == 1 else None


def artifacts_in(folder: Path) -> list[Path]:
    """The artifact files directly in a folder that is not itself a model (none otherwise)."""
    if not folder.is_dir() or detect_runtime(folder) is not None:
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in ARTIFACT_SUFFIXES)


def detect_runtime(path: Path) -> str | None:
    """The runtime name for an artifact, by DESIGN.md's detection table; None when nothing fits."""
    if path.is_dir():
        names = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}
        if source_file(path) is not None:
            return _runtime_for_members(names) or "model_source"
    elif path.suffix.lower() in PICKLE_SUFFIXES:
        return "pickle"
    elif path.name == "pipeline.mojo" or path.suffix.lower() == ".mojo":
        return "dai_mojo"
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if _zipped_source(archive):
                return _runtime_for_members(names) or "model_source"
    else:
        return None
    return _runtime_for_members(names)


def _zipped_source(archive: zipfile.ZipFile) -> bool:
    """A zip of a model folder (its files at the top, or in one folder) holding one tagged source."""
    tops = [n for n in archive.namelist() if n.endswith(".py") and n.count("/") <= 1]
    tagged = [n for n in tops if holds_score_tag(archive.read(n).decode("utf-8", "replace"))]
    return len(tagged) == 1


def _runtime_for_members(names: set[str]) -> str | None:
    def has(filename: str, max_depth: int) -> bool:
        return any((n == filename or n.endswith("/" + filename)) and n.count("/") <= max_depth for n in names)

    if "model.ini" in names:
        return "h2o3_mojo"
    if has("pipeline.mojo", 1):
        return "dai_mojo"
    if has("MLmodel", 1):
        return "mlflow"
    return None
