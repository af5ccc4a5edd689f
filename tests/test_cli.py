"""The `scorer` command as a user runs it: batch scoring of CSV and Parquet, and inspect."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest

from tests.model_builders import CREDIT_CATEGORICAL, CREDIT_NUMERIC, CREDIT_TARGET
from tests.server_process import REPO, run_scorer

INPUTS = CREDIT_CATEGORICAL + CREDIT_NUMERIC


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_score_streams_a_file_in_chunks_and_equals_predict_proba(tmp_path, credit_model, credit_frame, suffix):
    table = credit_frame[["ID", *INPUTS]].head(2500)
    source = tmp_path / f"in{suffix}"
    if suffix == ".csv":
        table.to_csv(source, index=False)
    else:
        table.to_parquet(source, index=False)
    out = tmp_path / f"out{suffix}"
    result = run_scorer(
        "score", str(credit_model), str(source), "-o", str(out), "--chunk-rows", "1000", "--include", "ID"
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"scoring .* 2500/2500 100% [\d,]+ records/s", result.stderr), result.stderr
    assert result.stdout == f"scored 2500 rows into {out}\n"
    scored = pd.read_csv(out, dtype={"ID": str}) if suffix == ".csv" else pd.read_parquet(out)
    assert list(scored.columns) == ["ID", f"{CREDIT_TARGET}.0", f"{CREDIT_TARGET}.1"]
    assert scored["ID"].astype(str).tolist() == table["ID"].astype(str).tolist()
    expected = joblib.load(credit_model).predict_proba(table[INPUTS])
    assert np.abs(scored.iloc[:, 1:].to_numpy(dtype=float) - expected).max() <= 1e-9


def test_score_reports_a_bad_file_in_one_sentence(tmp_path, credit_model):
    (tmp_path / "bad.csv").write_text("SEX,AGE\n1,x\n")
    result = run_scorer(
        "score", str(credit_model), str(tmp_path / "bad.csv"), "-o", str(tmp_path / "out.csv"), "--quiet"
    )
    assert result.returncode == 2
    assert result.stderr.startswith("scorer: bad.csv lacks the model's input field(s) 'EDUCATION'")
    assert result.stderr.count("\n") == 1 and not (tmp_path / "out.csv").exists()


def test_inspect_prints_runtime_schema_capabilities_and_notes():
    result = run_scorer("inspect", str(REPO / "models" / "airlines" / "distance.zip"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["runtime"] == "h2o3_mojo"
    assert report["mlops"] == {"artifactType": "h2o3/mojo", "runtimes": ["h2o3_mojo_runtime"]}
    assert report["capabilities"] == [
        "CONTRIBUTION_ORIGINAL",
        "CONTRIBUTION_TRANSFORMED",
        "SCORE",
        "SCORE_PREDICTION_INTERVAL",
    ]
    assert report["properties"]["scoringType"] == "REGRESSION"
    assert any(note.startswith("Java runtime:") for note in report["notes"])


def test_inspect_into_a_pipe_that_closes_early_is_no_traceback():
    run = subprocess.run(
        f"{sys.executable} -m scoring_runtime inspect {REPO / 'models/hydraulic/cool_cond_y.joblib'} | true",
        shell=True,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert run.returncode == 0 and "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr, run.stderr


def test_an_mlops_runtime_name_is_accepted_and_a_wrong_one_is_one_sentence():
    model = str(REPO / "models" / "airlines" / "distance.zip")
    result = run_scorer("inspect", model, "--runtime", "h2o3_mojo_runtime")
    assert result.returncode == 0 and json.loads(result.stdout)["runtime"] == "h2o3_mojo", result.stderr
    wrong = run_scorer("inspect", model, "--runtime", "h2o3-mojo-typo")
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert wrong.stderr.startswith("scorer: Unknown runtime 'h2o3-mojo-typo'; choose one of h2o3_mojo,")
    assert len(wrong.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "env", "sentence"),
    [
        (["serve", "https://example.com/m.zip"], {}, "scorer: SCORER_MODEL: https://example.com/m.zip is a URL, and"),
        (["inspect", "models/airlines/distance.zip"], {"SCORER_MAX_ROWS": "many"}, "scorer: SCORER_MAX_ROWS: Input should be a valid integer, unable to parse string as an integer (it is 'many')."),
        (["inspect", "models/airlines/distance.zip"], {"SHAPLEY_TYPES_ENABLED": "X"}, "scorer: SHAPLEY_TYPES_ENABLED: Input should be"),
        (["serve", "models/hydraulic/cool_cond_y.joblib", "--port", "0"], {"SCORER_OTEL_ENDPOINT": "collector:4318"}, "scorer: SCORER_OTEL_ENDPOINT must be an http(s) URL of an OTLP collector (it is 'collector:4318')."),
    ],
)  # fmt: skip
def test_bad_settings_and_urls_are_one_sentence_naming_what_the_user_set(args, env, sentence, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = run_scorer(*args)
    assert result.returncode == 2 and result.stderr.startswith(sentence), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_folder_holding_two_artifacts_names_them(tmp_path):
    for name in ("a.joblib", "b.pkl"):
        (tmp_path / name).write_bytes((REPO / "models" / "hydraulic" / "cool_cond_y.joblib").read_bytes())
    result = run_scorer("inspect", str(tmp_path))
    assert result.returncode == 2
    assert "holds 2 model artifacts (a.joblib, b.pkl); name the one to serve" in result.stderr
