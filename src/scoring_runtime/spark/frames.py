"""`score(df, model, …)` on the driver: ship the artifact, check the request against the model,
and plan the `mapInPandas` that scores each Arrow batch in the Python workers."""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path
from typing import Any

from scoring_runtime.batch.score import score_options
from scoring_runtime.core.errors import ConfigError
from scoring_runtime.core.model import ServedModel
from scoring_runtime.core.samples import sample_row
from scoring_runtime.core.text import names
from scoring_runtime.runtimes import load_model
from scoring_runtime.runtimes.artifacts import sha256_of, single_artifact_in
from scoring_runtime.settings import load_settings
from scoring_runtime.spark.worker import Job, numeric_results, score_batch, score_batches


def score(
    df: Any,
    model: str | Path,
    *,
    include: list[str],
    shapley: str | None,
    intervals: bool,
    runtime: str | None,
    as_text: bool = False,
) -> Any:
    """`df` holds the model's input columns (others are allowed; any Spark type, a text column
    for a numeric field read as the H2O API reads a cell); the answer holds the `include`
    columns, then the outputs (doubles; a model source's text outputs are strings), the interval
    bounds and the contributions, in input order within each partition."""
    from pyspark.sql import types

    artifact = _artifact(Path(model))
    # Only the answer's columns are learnt here: the accelerated path's compile and check at load
    # are the workers' to do.
    local = load_model(load_settings(model=artifact, runtime=runtime, accelerate="off"))
    try:
        options = score_options(local, shapley, intervals)
        columns = list(df.columns)
        missing = [name for name in local.schema.input_names if name not in columns]
        if missing:
            raise ConfigError(f"The DataFrame lacks the model's input column(s) {names(missing)}.")
        unknown = [name for name in include if name not in columns]
        if unknown:
            raise ConfigError(f"include names {names(unknown)}, which is not a column of the DataFrame.")
        needed = list(dict.fromkeys([*(local.schema.input_names or columns), *include]))
        probe = Job("", "", artifact.name, runtime, tuple(include), options, as_text)
        result = score_batch(local, probe, _first_rows(df.select(*needed), local))
        numeric = numeric_results(local)
    finally:
        local.close()
    outputs = [name for name in result.columns if name not in include]
    fields = [df.schema[name] for name in include] + [
        types.StructField(
            name,
            types.StringType()
            if as_text or (name in local.schema.output_names and name not in numeric)
            else types.DoubleType(),
        )
        for name in outputs
    ]
    bundle = _bundle(artifact)
    df.sparkSession.sparkContext.addFile(str(bundle), recursive=True)
    digest = f"{sha256_of(bundle)}:{runtime}:{artifact.name}"
    job = Job(bundle.name, digest, artifact.name, runtime, tuple(include), options, as_text)
    return df.select(*needed).mapInPandas(functools.partial(score_batches, job), types.StructType(fields))


def _artifact(path: Path) -> Path:
    if not path.exists():
        raise ConfigError(f"The model artifact {path} does not exist.")
    return (single_artifact_in(path) or path).resolve()


def _first_rows(df: Any, model: ServedModel) -> Any:
    """A row to learn the answer's columns from: the model's sample request, or (a model that
    declares no inputs) the DataFrame's first row."""
    import pandas as pd

    if model.schema.inputs:
        row = dict(zip(model.schema.input_names, sample_row(model.schema), strict=True))
        return pd.DataFrame([{**{c: None for c in df.columns}, **row}])
    first = df.limit(1).toPandas()
    if first.empty:
        raise ConfigError("The DataFrame is empty, and this model declares no inputs to plan its answer from.")
    return first


def _bundle(artifact: Path) -> Path:
    """The artifact and its sidecars (schema, calibration, background sample) in a folder of
    their own, for `addFile` to ship to every executor."""
    bundle = Path(tempfile.mkdtemp(prefix="scorer-spark-"))
    if artifact.is_dir():
        shutil.copytree(artifact, bundle / artifact.name)
    else:
        shutil.copy2(artifact, bundle / artifact.name)
        for sibling in artifact.parent.iterdir():
            if sibling.is_file() and (sibling.name.startswith(artifact.name + ".") or sibling.name == "schema.json"):
                shutil.copy2(sibling, bundle / sibling.name)
    return bundle
