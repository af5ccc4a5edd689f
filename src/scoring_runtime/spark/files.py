"""`scorer score --engine spark`: files (or folders of Parquet files) scored on a Spark master.

The answer is written as Spark writes it, a folder of part files, first under a temporary name
beside `OUT` and renamed to `OUT` once the job has succeeded; a failure leaves nothing there.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from scoring_runtime.batch.files import SUFFIXES, kind_of
from scoring_runtime.core.errors import ConfigError, RequestError
from scoring_runtime.spark.worker import FAILURE


def score_files(
    model: Path,
    source: str,
    out: str,
    *,
    include: list[str],
    shapley: str | None,
    intervals: bool,
    master: str,
    runtime: str | None,
) -> int:
    """Score `source` into `out` on `master`; returns the rows written. Local paths are checked
    first and the output renamed into place; a URL (`hdfs://…`, `s3a://…`) is Spark's to read,
    and its output appears through Spark's own commit protocol."""
    read_as, write_as = _format(source, "input"), _format(out, "output")
    local_out = None if _is_url(out) else Path(out)
    if not _is_url(source) and not Path(source).exists():
        raise ConfigError(f"The input {source} does not exist.")
    if local_out is not None and not local_out.parent.is_dir():
        raise ConfigError(f"The output folder {local_out.parent} does not exist.")
    from scoring_runtime.spark.frames import score
    from scoring_runtime.spark.session import session

    spark = session(master)
    target = out if local_out is None else str(local_out.with_name(f".{local_out.name}.{uuid.uuid4().hex[:8]}.partial"))
    try:
        frame = _read(spark, read_as, source)
        scored = score(
            frame, model, include=include, shapley=shapley, intervals=intervals, runtime=runtime, as_text=write_as == "csv"
        )  # fmt: skip
        writer = scored.write.mode("error")
        (writer.option("header", True).csv if write_as == "csv" else getattr(writer, write_as))(target)
        rows = spark.read.format(write_as).option("header", True).load(target).count()
        if local_out is not None:
            replace_output(Path(target), local_out)
        return rows
    except Exception as exc:
        raise _sentence(exc) from None
    finally:
        if local_out is not None:
            shutil.rmtree(target, ignore_errors=True)


def _is_url(location: str) -> bool:
    return "://" in location


def _format(location: str, what: str) -> str:
    """Spark's reader or writer for a location, by suffix as on one machine; an input without
    one that is a folder or a URL is Parquet part files."""
    name = location.rstrip("/").rsplit("/", 1)[-1]
    if what == "input" and Path(name).suffix.lower() not in SUFFIXES and (_is_url(location) or Path(location).is_dir()):
        return "parquet"
    kind = kind_of(Path(name))
    return "json" if kind == "jsonl" else kind


def _read(spark: Any, kind: str, source: str) -> Any:
    """CSV cells stay text (read as the H2O API reads them); JSON and Parquet keep their types."""
    reader = spark.read
    if kind == "csv":
        return reader.option("header", True).option("inferSchema", False).csv(source)
    return getattr(reader, kind)(source)


def replace_output(partial: Path, out: Path) -> None:
    """`partial` (a file or a folder of part files) renamed to `out`, a previous `out` removed
    only once the new one is in place."""
    if out.exists():
        old = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.old")
        os.replace(out, old)
        os.replace(partial, out)
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
    else:
        os.replace(partial, out)


def _sentence(exc: Exception) -> Exception:
    """Our own failure as its sentence wherever Spark wrapped it; Spark's own error by its first line."""
    if isinstance(exc, RequestError | ConfigError):
        return exc
    text = str(exc)
    ours = re.search(re.escape(FAILURE) + r"(.*)", text)
    if ours:
        return ConfigError(ours.group(1).strip())
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
    return ConfigError(f"Spark failed: {first}")
