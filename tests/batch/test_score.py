"""`scorer score` on one machine, run as a user runs it: every output equals the H2O API's answer
for the same rows, and every failure is exit 2, one sentence and no output."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from scoring_runtime.cli import main
from scoring_runtime.protocols.h2o.wire import ContributionRequest, ScoreRequest
from tests.model_builders import CREDIT_CATEGORICAL, CREDIT_NUMERIC, CREDIT_TARGET
from tests.served import contribution, score, serve

INPUTS = CREDIT_CATEGORICAL + CREDIT_NUMERIC


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _h2o(model, table: pd.DataFrame) -> dict:
    return score(serve(model), ScoreRequest(fields=INPUTS, rows=table[INPUTS].astype(str).to_numpy().tolist()))


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".json", ".parquet"])
def test_every_format_holds_the_h2o_apis_numbers(credit_model, credit_frame, tmp_path, capsys, suffix):
    table = credit_frame[["ID", *INPUTS]].head(1200)
    source = tmp_path / "in.csv"
    table.to_csv(source, index=False)
    out = tmp_path / f"out{suffix}"
    status, stdout, _ = _run(
        capsys,
        "score",
        str(credit_model),
        str(source),
        "-o",
        str(out),
        "--include",
        "ID",
        "--chunk-rows",
        "500",
        "--quiet",
    )
    assert status == 0 and stdout == f"scored 1200 rows into {out}\n"
    expected = _h2o(credit_model, table)
    if suffix == ".csv":
        written = pd.read_csv(out, dtype=str).to_numpy().tolist()
        assert written == [[str(i), *row] for i, row in zip(table["ID"], expected["score"], strict=True)]
        return
    scored = (
        pd.read_parquet(out) if suffix == ".parquet" else pd.read_json(out, lines=True, dtype=False, precise_float=True)
    )
    assert list(scored.columns) == ["ID", *expected["fields"]]
    if suffix == ".parquet":
        assert all(scored[name].dtype == np.float64 for name in expected["fields"])
    numbers = np.array([[float(v) for v in row] for row in expected["score"]])
    np.testing.assert_array_equal(scored[expected["fields"]].to_numpy(dtype=float), numbers)


def test_shapley_columns_equal_the_contribution_route(credit_model, credit_frame, tmp_path, capsys):
    table = credit_frame[INPUTS].head(50)
    table.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.parquet"
    status, _, _ = _run(
        capsys,
        "score",
        str(credit_model),
        str(tmp_path / "in.csv"),
        "-o",
        str(out),
        "--shapley",
        "TRANSFORMED",
        "--quiet",
    )
    assert status == 0
    request = ContributionRequest(
        fields=INPUTS, rows=table.astype(str).to_numpy().tolist(), requestShapleyValueType="TRANSFORMED"
    )
    expected = contribution(serve(credit_model), request)
    scored = pd.read_parquet(out)
    features = expected["features"]
    assert list(scored.columns)[2:] == features and features[-1] == "contrib_bias"
    values = np.array([[float(v) for v in row] for row in expected["contributionGroups"][0]["contributions"]])
    np.testing.assert_array_equal(scored[features].to_numpy(), values)


def test_a_bad_cell_names_its_line_in_the_whole_file_and_leaves_no_output(credit_model, credit_frame, tmp_path, capsys):
    table = credit_frame[INPUTS].sample(20_000, replace=True, random_state=0).astype(str)
    table.iloc[15_000, INPUTS.index("AGE")] = "forty"
    table.to_csv(tmp_path / "in.csv", index=False)
    status, stdout, stderr = _run(
        capsys, "score", str(credit_model), str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv")
    )
    assert status == 2 and stdout == ""
    sentence = "scorer: Line 15002 of in.csv: Field 'AGE' in row 15000 has the value 'forty', which is not a number.\n"
    assert stderr.endswith(sentence) and "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize(
    ("setup", "argv", "sentence"),
    [
        (None, [], "The input file {t}/in.csv does not exist."),
        ("SEX\n1\n", ["-o", "{t}/missing/out.csv"], "The output folder {t}/missing does not exist."),
        ("", [], "in.csv is empty; a CSV file starts with a header row of field names."),
        (b"SEX,AGE\n\xe9t\xe9,1\n", [], "in.csv is not UTF-8 text (line 2); convert it to UTF-8 first."),
        ("SEX\n1\n", ["--chunk-rows", "0"], "--chunk-rows is 0; it must be 1 or more."),
        ("SEX\n1\n", ["-o", "{t}/out.xlsx"], "out.xlsx is not a .csv, .json, .jsonl or .parquet file"),
        ("SEX\n1\n", ["--intervals"], "This model does not offer prediction intervals"),
    ],
)
def test_a_failure_is_exit_2_one_sentence_and_nothing_at_out(credit_model, tmp_path, capsys, setup, argv, sentence):
    if setup is not None:
        (tmp_path / "in.csv").write_bytes(setup if isinstance(setup, bytes) else setup.encode())
    extra = [a.replace("{t}", str(tmp_path)) for a in argv]
    output = [] if "-o" in extra else ["-o", str(tmp_path / "out.csv")]
    status, stdout, stderr = _run(
        capsys, "score", str(credit_model), str(tmp_path / "in.csv"), *output, *extra, "--quiet"
    )
    assert status == 2 and stdout == "" and stderr.count("\n") == 1, stderr
    assert stderr.startswith("scorer: ") and sentence.replace("{t}", str(tmp_path)) in stderr
    assert [p.name for p in tmp_path.iterdir() if p.name != "in.csv"] == []


def test_json_output_is_json_lines_not_csv(credit_model, credit_frame, tmp_path, capsys):
    credit_frame[INPUTS].head(3).to_csv(tmp_path / "in.csv", index=False)
    assert (
        _run(capsys, "score", str(credit_model), str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.json"), "--quiet")[
            0
        ]
        == 0
    )
    lines = (tmp_path / "out.json").read_text().splitlines()
    assert len(lines) == 3 and set(json.loads(lines[0])) == {f"{CREDIT_TARGET}.0", f"{CREDIT_TARGET}.1"}
