"""`scoring_runtime.spark.score` on a real Spark in local mode: every runtime's answer equals the
H2O API's for the same rows, to the last bit (the in-process route code of tests/served.py)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd
import pytest

from scoring_runtime.cli import main
from scoring_runtime.protocols.h2o.wire import ContributionRequest, ScoreRequest
from tests.model_builders import CREDIT_CATEGORICAL, CREDIT_NUMERIC, CREDIT_TARGET, mlflow_regressor
from tests.served import contribution, score, serve
from tests.server_process import REPO

pytestmark = pytest.mark.slow
INPUTS = CREDIT_CATEGORICAL + CREDIT_NUMERIC
MOJO = REPO / "tests" / "fixtures" / "h2o" / "gbm_binomial.zip"
SOURCE = REPO / "models" / "credit-source"


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    from scoring_runtime.spark.session import session

    spark = session("local[2]")
    yield spark
    spark.stop()


def _numbers(rows: list[list[str]]) -> np.ndarray:
    return np.array([[float(v) for v in row] for row in rows])


def _h2o(model, table: pd.DataFrame) -> dict:
    fields = list(table.columns)
    return score(serve(model), ScoreRequest(fields=fields, rows=table.astype(str).to_numpy().tolist()))


def test_a_pickle_on_spark_equals_the_h2o_api(spark, credit_model, credit_frame):
    from scoring_runtime.spark import score as spark_score

    table = credit_frame[["ID", *INPUTS]].head(3000)
    scored = spark_score(spark.createDataFrame(table), str(credit_model), include=["ID"]).toPandas()
    expected = _h2o(credit_model, table[INPUTS])
    assert list(scored.columns) == ["ID", *expected["fields"]]
    assert scored["ID"].tolist() == table["ID"].tolist()
    np.testing.assert_array_equal(scored[expected["fields"]].to_numpy(), _numbers(expected["score"]))


def test_text_cells_for_numeric_fields_read_as_the_h2o_api_reads_them(spark, credit_model, credit_frame):
    from scoring_runtime.spark import score as spark_score

    table = credit_frame[INPUTS].head(200).astype(str)
    table.iloc[3, INPUTS.index("AGE")] = "NA"
    scored = spark_score(spark.createDataFrame(table), credit_model).toPandas()
    np.testing.assert_array_equal(scored.to_numpy(), _numbers(_h2o(credit_model, table)["score"]))


def test_a_mojo_with_contributions_on_spark_equals_the_contribution_route(spark):
    from scoring_runtime.spark import score as spark_score

    table = pd.read_csv(MOJO.with_name("gbm_binomial.input.csv"), dtype=str, keep_default_na=False)
    model = serve(MOJO)
    fields = list(model.schema.input_names)
    table = table[fields]
    scored = spark_score(spark.createDataFrame(table), MOJO, shapley="TRANSFORMED").toPandas()
    expected = _h2o(MOJO, table)
    np.testing.assert_array_equal(scored[expected["fields"]].to_numpy(), _numbers(expected["score"]))
    request = ContributionRequest(fields=fields, rows=table.to_numpy().tolist(), requestShapleyValueType="TRANSFORMED")
    shapley = contribution(model, request)
    np.testing.assert_array_equal(
        scored[shapley["features"]].to_numpy(), _numbers(shapley["contributionGroups"][0]["contributions"])
    )


def test_an_mlflow_model_on_spark_equals_the_h2o_api(spark, tmp_path):
    from scoring_runtime.spark import score as spark_score

    folder, features = mlflow_regressor(tmp_path)
    table = features.head(500)
    scored = spark_score(spark.createDataFrame(table), folder).toPandas()
    expected = _h2o(folder, table)
    np.testing.assert_array_equal(scored[expected["fields"]].to_numpy(), _numbers(expected["score"]))


def test_a_model_source_on_spark_equals_the_h2o_api(spark):
    from scoring_runtime.spark import score as spark_score

    table = pd.read_csv(REPO / "models" / "data" / "creditcard.csv", nrows=300).drop(columns=[CREDIT_TARGET])
    scored = spark_score(spark.createDataFrame(table), SOURCE).toPandas()
    expected = _h2o(SOURCE, table)
    assert list(scored.columns) == expected["fields"]
    np.testing.assert_array_equal(scored.to_numpy(), _numbers(expected["score"]))


def test_the_cli_scores_a_file_on_spark_and_fails_in_one_sentence(spark, credit_model, credit_frame, tmp_path, capsys):
    table = credit_frame[["ID", *INPUTS]].head(1000).astype(str)
    table.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.parquet"
    argv = [
        "score",
        str(credit_model),
        str(tmp_path / "in.csv"),
        "-o",
        str(out),
        "--engine",
        "spark",
        "--master",
        "local[2]",
    ]
    assert main([*argv, "--include", "ID"]) == 0
    assert capsys.readouterr().out == f"scored 1000 rows into {out}\n"
    scored = pd.read_parquet(out)
    expected = _h2o(credit_model, table[INPUTS])
    assert scored["ID"].tolist() == table["ID"].tolist()
    np.testing.assert_array_equal(scored[expected["fields"]].to_numpy(), _numbers(expected["score"]))
    table.iloc[700, 1 + INPUTS.index("AGE")] = "forty"
    table.to_csv(tmp_path / "bad.csv", index=False)
    bad = tmp_path / "bad.parquet"
    assert main(["score", str(credit_model), str(tmp_path / "bad.csv"), "-o", str(bad), "--engine", "spark"]) == 2
    stderr = capsys.readouterr().err.strip().splitlines()[-1]
    assert (
        stderr.startswith("scorer: Field 'AGE' in row ") and "has the value 'forty', which is not a number." in stderr
    )
    assert "'AGE': 'forty'" in stderr and not bad.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "in.csv", "out.parquet"]
    assert os.environ["PYSPARK_PYTHON"] == sys.executable


SPARK_SOURCE = """
import json

factor = None


# modelop.init
def begin():
    global factor
    with open("factor.txt") as handle:
        factor = float(handle.read())


# modelop.score
def score(input_files, output_files, model_attachment_files):
    from pyspark.sql import SparkSession, functions

    spark = SparkSession.builder.getOrCreate()
    frame = spark.read.option("header", True).csv(input_files[0]["fileUrl"])
    if frame.filter(functions.col("x") == "boom").count():
        frame.write.parquet(output_files[0]["fileUrl"])
        raise ValueError("a record says boom")
    frame.withColumn("y", functions.col("x").cast("double") * factor).write.parquet(output_files[0]["fileUrl"])
    with open(output_files[1]["fileUrl"].removeprefix("file://"), "w") as handle:
        json.dump({"attachments": [a["filename"] for a in model_attachment_files], "format": input_files[0]["fileFormat"]}, handle)
"""


def test_a_modelop_spark_job_gets_its_assets_and_the_session(spark, tmp_path, capsys):
    import json

    from tests.runtimes.source.sources import write_source

    source = write_source(tmp_path / "m", SPARK_SOURCE, files={"factor.txt": "3"})
    pd.DataFrame({"x": ["1", "2.5"]}).to_csv(tmp_path / "in.csv", index=False)
    out, report = tmp_path / "out.parquet", tmp_path / "report.json"
    argv = ["job", "spark", str(source), "--input", str(tmp_path / "in.csv"), "--output", str(out), str(report)]
    assert main([*argv, "--master", "local[2]"]) == 0
    assert capsys.readouterr().out.splitlines() == [str(out), str(report)]
    assert pd.read_parquet(out)["y"].tolist() == [3.0, 7.5]
    assert json.loads(report.read_text()) == {"attachments": ["factor.txt"], "format": "CSV"}
    assert not spark.sparkContext._jsc.sc().isStopped()  # the caller's session is left running

    pd.DataFrame({"x": ["1", "boom"]}).to_csv(tmp_path / "in.csv", index=False)
    out.rename(tmp_path / "kept.parquet")
    assert main([*argv, "--master", "local[2]"]) == 2
    assert capsys.readouterr().err == "scorer: The model's score function failed (ValueError: a record says boom).\n"
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
