"""`scorer job spark`: a ModelOp Spark model source, whose score function takes the job's
input, output and attachment assets and does its own Spark work.

Each output asset names a temporary path beside the output the user asked for; the outputs are
renamed into place only when the function has returned, so a failed job leaves none of them.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from scoring_runtime.core.errors import ConfigError, ModelFailed
from scoring_runtime.runtimes import resolve_runtime
from scoring_runtime.runtimes.options import LoadOptions
from scoring_runtime.runtimes.source.model_source import INPUT_SCHEMA, OUTPUT_SCHEMA, ModelSource
from scoring_runtime.spark.files import replace_output

_FORMATS = {".csv": "CSV", ".parquet": "PARQUET", ".json": "JSON", ".jsonl": "JSON", ".avro": "AVRO"}


def asset(path: Path) -> dict[str, Any]:
    """A file as ModelOp describes an asset to a Spark job."""
    return {
        "name": path.name,
        "assetType": "EXTERNAL_FILE",
        "fileUrl": path.resolve().as_uri(),
        "filename": path.name,
        "fileFormat": _FORMATS.get(path.suffix.lower(), path.suffix.lstrip(".").upper() or "UNKNOWN"),
    }


def spark_job(
    model: Path,
    options: LoadOptions,
    inputs: list[Path],
    outputs: list[Path],
    attachments: list[Path] | None,
    master: str,
) -> list[Path]:
    """Run the source's score function on `master`; returns the outputs it wrote."""
    if resolve_runtime(model, options) != "model_source":
        raise ConfigError(f"{model} is not a model source; scorer job spark runs a ModelOp Spark model source.")
    missing = [path for path in [*inputs, *(attachments or [])] if not path.exists()]
    if missing:
        raise ConfigError(f"The file {missing[0]} does not exist.")
    absent = [path.parent for path in outputs if not path.parent.is_dir()]
    if absent:
        raise ConfigError(f"The output folder {absent[0]} does not exist.")
    from pyspark.sql import SparkSession

    from scoring_runtime.spark.session import session

    ours = SparkSession.getActiveSession() is None
    spark = session(master)  # before init: SparkSession.builder.getOrCreate() there returns this one
    source = ModelSource(model, options)
    partial = [path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial") for path in outputs]
    try:
        given = attachments if attachments is not None else _attachments(source)
        arguments = (
            [asset(p) for p in inputs],
            [{**asset(o), "fileUrl": t.resolve().as_uri()} for o, t in zip(outputs, partial, strict=True)],
            [asset(p) for p in given],
        )
        try:
            source.functions["score"](*arguments)
        except Exception as exc:
            raise ModelFailed(f"The model's score function failed ({type(exc).__name__}: {_first_line(exc)}).") from exc
        written = [(t, o) for t, o in zip(partial, outputs, strict=True) if t.exists()]
        for temporary, out in written:
            replace_output(temporary, out)
        return [out for _, out in written]
    finally:
        source.close()
        for temporary in partial:
            shutil.rmtree(temporary, ignore_errors=True) if temporary.is_dir() else temporary.unlink(missing_ok=True)
        if ours:
            spark.stop()


def _attachments(source: ModelSource) -> list[Path]:
    """Without --attachment: the model folder's files other than the source and its schemas."""
    skip = {INPUT_SCHEMA, OUTPUT_SCHEMA}
    return sorted(p for p in source.folder.iterdir() if p.is_file() and p.suffix != ".py" and p.name not in skip)


def _first_line(exc: Exception) -> str:
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
