"""Batch scoring on Spark, `local[2]`, 1,000,000 rows from Parquet to Parquet, in one run:

    python -m bench.spark [--rows N]

- the breast-cancer GBM (100 trees, 30 doubles) saved as an MLflow model whose pyfunc answers
  `predict_proba`, scored by `scoring_runtime.spark.score` and by `mlflow.pyfunc.spark_udf` on
  the same model folder, each from the same Parquet file to a Parquet folder;
- an H2O-3 MOJO (tests/fixtures/h2o/gbm_binomial.zip, credit-card default) by our `score`;
- the GBM by `scorer score --engine local` (one process, no Spark) on the same Parquet file.

Each figure is rows / wall seconds of the whole job (read, score, write), the Spark session
already running; the best of three runs, and the first run alone. A session's first job pays
Spark's own warm-up (Python workers started, the Parquet reader and writer compiled by the JIT),
so a job that does nothing runs first and alone; after it, a job's first run is the cold model:
its load on the driver (to plan the answer's columns) and in each Python worker (a MOJO's JVM
there too).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import write_results

WORK = Path(__file__).resolve().parent.parent / ".bench" / "spark"
MOJO = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "h2o" / "gbm_binomial.zip"


def prepare(rows: int) -> tuple[Path, Path, Path, list[str]]:
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import GradientBoostingClassifier

    data = load_breast_cancer()
    names = [n.replace(" ", "_") for n in data.feature_names]
    frame = pd.DataFrame(data.data, columns=names)
    model = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0).fit(frame, data.target)
    WORK.mkdir(parents=True, exist_ok=True)
    folder = WORK / "gbm-mlflow"
    shutil.rmtree(folder, ignore_errors=True)
    signature = infer_signature(frame, model.predict_proba(frame))
    mlflow.sklearn.save_model(
        model,
        str(folder),
        signature=signature,
        pyfunc_predict_fn="predict_proba",
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
    )
    # row groups of 100,000 rows, so Spark can split a file over both cores (one row group is one task)
    gbm_rows = WORK / f"gbm-{rows}-rg.parquet"
    if not gbm_rows.exists():
        index = np.random.default_rng(0).integers(0, len(frame), rows)
        frame.iloc[index].reset_index(drop=True).to_parquet(gbm_rows, row_group_size=100_000)
    mojo_rows = WORK / f"mojo-{rows}-rg.parquet"
    if not mojo_rows.exists():
        table = pd.read_csv(MOJO.with_name("gbm_binomial.input.csv"))
        index = np.random.default_rng(1).integers(0, len(table), rows)
        table.iloc[index].reset_index(drop=True).to_parquet(mojo_rows, row_group_size=100_000)
    return folder, gbm_rows, mojo_rows, names


def _first_of_each(batches):
    """A Python worker's least work per Arrow batch: what Spark's own first job costs is seen apart."""
    for batch in batches:
        yield batch.iloc[:1]


def _timed(work, runs: int = 3) -> tuple[float, float]:
    """The best and the first of `runs` runs, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times), times[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    rows = parser.parse_args().rows
    folder, gbm_rows, mojo_rows, names = prepare(rows)

    import mlflow.pyfunc
    from pyspark.sql import functions, types

    from scoring_runtime.spark import score
    from scoring_runtime.spark.session import session

    spark = session("local[2]")
    out = WORK / "out.parquet"

    def read(source: Path):
        # One task per row group (100,000 rows): ten equal tasks keep both cores busy to the end,
        # where splitting by bytes gave the MOJO's small file two tasks of 800,000 and 200,000 rows.
        import pyarrow.parquet as pq

        groups = pq.ParquetFile(source).metadata.num_row_groups
        spark.conf.set("spark.sql.files.maxPartitionBytes", str(source.stat().st_size // groups + 1))
        return spark.read.parquet(str(source))

    def ours(model: Path, source: Path) -> None:
        shutil.rmtree(out, ignore_errors=True)
        score(read(source), model).write.parquet(str(out))

    udf = mlflow.pyfunc.spark_udf(
        spark, str(folder), result_type=types.ArrayType(types.DoubleType()), env_manager="local"
    )

    def theirs() -> None:
        shutil.rmtree(out, ignore_errors=True)
        frame = read(gbm_rows)
        frame.select(udf(functions.struct(*names)).alias("proba")).write.parquet(str(out))

    def spark_alone() -> None:
        shutil.rmtree(out, ignore_errors=True)
        frame = read(gbm_rows)
        frame.mapInPandas(_first_of_each, frame.schema).write.parquet(str(out))

    figures = {
        "Spark alone: a no-op mapInPandas over the GBM file (run first: Spark's own warm-up)": _timed(spark_alone),
        "ours (scoring_runtime.spark.score), GBM": _timed(lambda: ours(folder, gbm_rows)),
        "mlflow.pyfunc.spark_udf, GBM": _timed(theirs),
        "ours, H2O-3 MOJO (gbm_binomial, 10 inputs)": _timed(lambda: ours(MOJO, mojo_rows)),
    }
    spark.stop()

    from scoring_runtime.cli import main as scorer

    local = WORK / "local.parquet"
    figures["scorer score --engine local, GBM (no Spark)"] = _timed(
        lambda: scorer(["score", str(folder), str(gbm_rows), "-o", str(local), "--quiet"])
    )
    ratio = figures["mlflow.pyfunc.spark_udf, GBM"][0] / figures["ours (scoring_runtime.spark.score), GBM"][0]
    lines = [f"{rows:,} rows, Parquet to Parquet, Spark local[2] on this 2-core machine, best of three runs:", ""]
    lines += ["| job | seconds | rows/s | first run: rows/s |", "|---|---|---|---|"]
    lines += [
        f"| {name} | {best:.1f} | {rows / best:,.0f} | {rows / first:,.0f} |" for name, (best, first) in figures.items()
    ]
    lines += ["", f"ours / spark_udf on the same GBM: **{ratio:.2f}x** rows/s."]
    text = "\n".join(lines)
    print(text)
    write_results("Batch scoring on Spark", text)


if __name__ == "__main__":
    main()
