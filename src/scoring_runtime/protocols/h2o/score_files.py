"""Reading a CSV file for `GET /model/score?file=NAME`, confined to the configured directory."""

from __future__ import annotations

import csv
from pathlib import Path

from scoring_runtime.core.errors import InvalidInput, NotFound
from scoring_runtime.protocols.h2o.rows import CellRows


def resolve_score_file(directory: Path | None, name: str) -> Path:
    """The file's real path; `..`, absolute names and symlinks leading outside are refused."""
    if directory is None:
        raise NotFound("Scoring files is disabled on this server; set SCORER_SCORE_FILE_DIR to enable it.")
    if not name or "\x00" in name:
        raise InvalidInput("The 'file' query parameter must name a CSV file in the score-file directory.")
    root = directory.resolve()
    candidate = (root / name).resolve()
    if not candidate.is_relative_to(root) or candidate == root:
        raise InvalidInput(f"The file '{name}' is outside the score-file directory.")
    if not candidate.is_file():
        raise NotFound(f"There is no file '{name}' in the score-file directory.")
    return candidate


def read_csv_table(path: Path) -> tuple[list[str], CellRows]:
    """Header row = field names; every cell stays text, as in a JSON request."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            fields = next(reader, [])
            rows = [row for row in reader if row]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInput(f"The file '{path.name}' is not a UTF-8 CSV file ({exc}).") from None
    return fields, CellRows(rows)
