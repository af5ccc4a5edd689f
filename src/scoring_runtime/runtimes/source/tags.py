"""Finding a model source and its entry points by ModelOp's smart tags.

A tag is a comment line `# modelop.<name>` directly above a top-level `def` (or its decorators).
The file is read as text and its syntax tree inspected, so finding the entry points runs none of
the model's code; that happens only when the model loads.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from scoring_runtime.core.errors import ModelLoadError

TAGS = ("init", "score", "metrics", "train")
_SCORE_TAG = re.compile(r"^[ \t]*#[ \t]*modelop\.score\b", re.MULTILINE)
_TAG = re.compile(r"^#\s*modelop\.(\w+)\b")


def holds_score_tag(text: str) -> bool:
    return _SCORE_TAG.search(text) is not None


def source_file(folder: Path) -> Path | None:
    """The model folder's model source: its one top-level `.py` file with a `# modelop.score` tag."""
    found = [p for p in sorted(folder.glob("*.py")) if p.is_file() and holds_score_tag(_text(p))]
    return found[0] if len(found) == 1 else None


def entry_points(path: Path) -> dict[str, str]:
    """Tag name → function name for every smart-tagged top-level function of the source."""
    text = _text(path)
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        raise ModelLoadError(
            f"The model source {path.name} is not valid Python (line {exc.lineno}: {exc.msg})."
        ) from exc
    lines = text.splitlines()
    found: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        for tag in _tags_above(lines, first - 1):
            if tag in found and found[tag] != node.name:
                raise ModelLoadError(f"The model source {path.name} tags two functions with '# modelop.{tag}'.")
            found[tag] = node.name
    if "score" not in found:
        raise ModelLoadError(f"The model source {path.name} has no top-level function tagged '# modelop.score'.")
    return found


def _tags_above(lines: list[str], index: int) -> list[str]:
    """The known tags in the comment block that ends on the line before `index` (zero-based)."""
    tags = []
    row = index - 1
    while row >= 0 and lines[row].lstrip().startswith("#"):
        match = _TAG.match(lines[row].strip())
        if match and match.group(1) in TAGS:
            tags.append(match.group(1))
        row -= 1
    return tags


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"The model source {path} cannot be read as UTF-8 text ({exc}).") from exc
