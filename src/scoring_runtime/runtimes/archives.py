"""Safe extraction of model archives (an MLflow model zipped as MLOps stores it).

A zip from outside is hostile until proven otherwise: members may name absolute paths or climb
out with `..`, be symbolic links, or inflate a few KB into gigabytes. Each of those is refused
before anything is written; sizes are checked against what was actually decompressed too.
"""

from __future__ import annotations

import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from scoring_runtime.core.errors import ModelLoadError

MAX_TOTAL_BYTES = 4 * 1024**3
MAX_MEMBERS = 20_000
MAX_RATIO = 200
_CHUNK = 1 << 20


def extract_zip(archive: Path, *, max_total_bytes: int = MAX_TOTAL_BYTES, max_members: int = MAX_MEMBERS) -> Path:
    """Extract into a new temporary folder and return it; any unsafe member refuses the whole archive."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            _check_listing(archive, members, max_total_bytes, max_members)
            target = Path(tempfile.mkdtemp(prefix="scorer-model-"))
            written = 0
            for member in members:
                destination = target / _safe_name(archive, member.filename)
                if member.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, destination.open("wb") as sink:
                    while chunk := source.read(_CHUNK):
                        written += len(chunk)
                        if written > max_total_bytes:
                            raise ModelLoadError(f"{archive} inflates past {max_total_bytes} bytes; refusing it.")
                        sink.write(chunk)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelLoadError(f"{archive} is not a readable zip archive ({exc}).") from exc
    return target


def _check_listing(archive: Path, members: list[zipfile.ZipInfo], max_total: int, max_members: int) -> None:
    if len(members) > max_members:
        raise ModelLoadError(f"{archive} has {len(members)} members, more than the {max_members} allowed.")
    declared = sum(m.file_size for m in members)
    if declared > max_total:
        raise ModelLoadError(f"{archive} would inflate to {declared} bytes, more than the {max_total} allowed.")
    for member in members:
        _safe_name(archive, member.filename)
        if stat.S_ISLNK(member.external_attr >> 16):
            raise ModelLoadError(f"{archive} holds a symbolic link ({member.filename}); refusing it.")
        if member.compress_size and member.file_size / member.compress_size > MAX_RATIO:
            raise ModelLoadError(
                f"{archive} member {member.filename} compresses more than {MAX_RATIO}:1; refusing a zip bomb."
            )


def _safe_name(archive: Path, name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise ModelLoadError(f"{archive} has a member that escapes its folder ({name}); refusing it.")
    return path
