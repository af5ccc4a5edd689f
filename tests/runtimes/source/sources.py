"""Model sources written for the tests: a folder with a tagged `.py` file and optional schemas."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any


def write_source(
    folder: Path,
    code: str,
    *,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    files: dict[str, str] | None = None,
) -> Path:
    """`inputs`/`outputs`: Avro fields of the input and output record schemas, when given."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.py").write_text(textwrap.dedent(code))
    for name, fields in (("input_schema.avsc", inputs), ("output_schema.avsc", outputs)):
        if fields is not None:
            (folder / name).write_text(json.dumps({"type": "record", "name": "r", "fields": fields}))
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    return folder


DOUBLER = """
    factor = None

    # modelop.init
    def begin():
        global factor
        with open("factor.txt") as handle:
            factor = float(handle.read())

    # modelop.score
    def action(record):
        yield {"y": record["x"] * factor, "label": "big" if record["x"] > 1 else "small"}
"""
DOUBLER_INPUTS = [{"name": "x", "type": "double"}]
DOUBLER_OUTPUTS = [{"name": "y", "type": "double"}, {"name": "label", "type": "string"}]
