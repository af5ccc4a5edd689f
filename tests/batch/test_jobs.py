"""`scorer job score|metrics|train` run as a user runs them (the CLI's `main`), on real models."""

from __future__ import annotations

import base64
import json
import re

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from scoring_runtime.cli import main
from tests.model_builders import CREDIT_TARGET
from tests.runtimes.source.sources import DOUBLER, DOUBLER_INPUTS, DOUBLER_OUTPUTS, write_source


@pytest.fixture
def doubler(tmp_path):
    return write_source(
        tmp_path / "doubler", DOUBLER, inputs=DOUBLER_INPUTS, outputs=DOUBLER_OUTPUTS, files={"factor.txt": "2"}
    )


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


def test_rejected_records_go_to_the_rejects_file_with_their_place_in_the_whole_file(doubler, tmp_path, capsys):
    rows = [{"id": i, "x": str(i)} for i in range(25)]
    rows[3]["x"], rows[17]["x"], rows[24]["x"] = "three", "", "1e999"
    pd.DataFrame(rows).to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.csv"
    code, stdout, _ = _run(
        capsys, "job", "score", str(doubler), "--input", str(tmp_path / "in.csv"), "--output", str(out),
        "--chunk-rows", "10", "--include", "id", "--quiet",
    )  # fmt: skip
    assert code == 0 and stdout == "scored 22 records, rejected 3\n"
    scored = pd.read_csv(out, dtype=str, keep_default_na=False)
    kept = [i for i in range(25) if i not in (3, 17, 24)]
    assert scored["id"].tolist() == [str(i) for i in kept]
    assert scored["y"].tolist() == [repr(2.0 * i) for i in kept]
    rejects = [json.loads(line) for line in (tmp_path / "out.csv.rejected.jsonl").read_text().splitlines()]
    assert [r["record"] for r in rejects] == [
        {"id": "3", "x": "three"},
        {"id": "17", "x": ""},
        {"id": "24", "x": "1e999"},
    ]
    assert (
        rejects[0]["reason"] == "Row 3 was rejected by schema: field 'x' has the value 'three', which is not a double."
    )
    assert rejects[1]["reason"].startswith("Row 17 was rejected by schema: field 'x' is missing")
    assert _leftovers(tmp_path) == []


def test_output_records_the_output_schema_refuses_are_dropped_and_counted(tmp_path, capsys):
    code = "# modelop.score\ndef action(r):\n    return {'y': 'odd' if r['x'] % 2 else r['x'], 'label': 'l'}\n"
    source = write_source(tmp_path / "m", code, inputs=DOUBLER_INPUTS, outputs=DOUBLER_OUTPUTS)
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"x": i}) + "\n" for i in range(6)))
    out = tmp_path / "out.jsonl"
    status, stdout, _ = _run(
        capsys, "job", "score", str(source), "--input", str(tmp_path / "in.jsonl"), "--output", str(out)
    )
    assert status == 0 and stdout == "scored 3 records, rejected 0, dropped 3 by the output schema\n"
    assert [json.loads(line) for line in out.read_text().splitlines()] == [
        {"y": 0.0, "label": "l"}, {"y": 2.0, "label": "l"}, {"y": 4.0, "label": "l"},
    ]  # fmt: skip
    assert not (tmp_path / "out.jsonl.rejected.jsonl").exists()


def test_a_pickle_scores_through_the_job_as_its_predict_proba_says(credit_model, credit_frame, tmp_path, capsys):
    rows = credit_frame.head(300)
    rows.to_parquet(tmp_path / "in.parquet")
    out = tmp_path / "out.parquet"
    status, stdout, _ = _run(
        capsys, "job", "score", str(credit_model), "--input", str(tmp_path / "in.parquet"), "--output", str(out)
    )
    assert status == 0 and stdout == "scored 300 records, rejected 0\n"
    expected = joblib.load(credit_model).predict_proba(rows.drop(columns=[CREDIT_TARGET]))
    scored = pd.read_parquet(out)
    assert list(scored.columns) == [f"{CREDIT_TARGET}.0", f"{CREDIT_TARGET}.1"]
    np.testing.assert_array_equal(scored.to_numpy(), expected)


@pytest.mark.parametrize(
    ("setup", "argv", "sentence"),
    [
        (None, ["--input", "{t}/absent.csv"], "The input file {t}/absent.csv does not exist."),
        ("x\n1\n", ["--output", "{t}/no/such/out.csv"], "The output folder {t}/no/such does not exist."),
        ("", [], "is empty; a CSV file starts with a header row"),
        (b"x\n\xff\xfe\n", [], "is not UTF-8 text"),
        ("x\n1\n", ["--chunk-rows", "0"], "--chunk-rows is 0; it must be 1 or more."),
        ("x\n1\n", ["--output", "{t}/out.xlsx"], "out.xlsx is not a .csv, .json, .jsonl or .parquet file"),
        ("z\n1\n", [], "in.csv lacks the model's input field(s) 'x'."),
        ("x\n1\n", ["--include", "nope"], "--include names 'nope', which is not a field of in.csv."),
        ("x\n1\n0\n", [], "Records 0 to 1: the model failed (ZeroDivisionError: float division by zero)."),
    ],
)
def test_a_failed_job_is_exit_2_one_sentence_and_no_output(tmp_path, capsys, setup, argv, sentence):
    source = write_source(
        tmp_path / "m", "# modelop.score\ndef action(r):\n    return {'y': 1 / r['x']}\n", inputs=DOUBLER_INPUTS
    )
    if setup is not None:
        data = setup if isinstance(setup, bytes) else setup.encode()
        (tmp_path / "in.csv").write_bytes(data)
    options = {"--input": str(tmp_path / "in.csv"), "--output": str(tmp_path / "out.csv")}
    extra = [a.replace("{t}", str(tmp_path)) for a in argv]
    for flag in ("--input", "--output"):
        if flag in extra:
            options.pop(flag)
    flat = [item for pair in options.items() for item in pair]
    status, stdout, stderr = _run(capsys, "job", "score", str(source), *flat, *extra, "--quiet")
    assert status == 2 and stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("scorer: "), stderr
    assert sentence.replace("{t}", str(tmp_path)) in stderr
    assert not (tmp_path / "out.csv").exists() and _leftovers(tmp_path) == []


def test_builtin_metrics_equal_scikit_learns_and_the_report_embeds_its_plots(
    credit_model, credit_frame, tmp_path, capsys
):
    rows = credit_frame.head(800)
    rows.to_csv(tmp_path / "labelled.csv", index=False)
    out, report = tmp_path / "metrics.json", tmp_path / "report.html"
    status, _, _ = _run(
        capsys, "job", "metrics", str(credit_model), "--input", str(tmp_path / "labelled.csv"),
        "--output", str(out), "--report", str(report), "--quiet",
    )  # fmt: skip
    assert status == 0
    found = json.loads(out.read_text())
    y = rows[CREDIT_TARGET].astype(int).to_numpy()
    proba = joblib.load(credit_model).predict_proba(rows.drop(columns=[CREDIT_TARGET]))
    predicted = proba.argmax(axis=1)
    assert found["auc"] == pytest.approx(sk.roc_auc_score(y, proba[:, 1]), abs=1e-12)
    assert found["logloss"] == pytest.approx(sk.log_loss(y, proba), abs=1e-12)
    assert found["accuracy"] == sk.accuracy_score(y, predicted)
    assert found["precision"] == pytest.approx(sk.precision_score(y, predicted))
    assert found["recall"] == pytest.approx(sk.recall_score(y, predicted))
    assert found["f1"] == pytest.approx(sk.f1_score(y, predicted))
    assert found["f2"] == pytest.approx(sk.fbeta_score(y, predicted, beta=2))
    assert found["mcc"] == pytest.approx(sk.matthews_corrcoef(y, predicted))
    assert found["confusion_matrix"] == {"labels": ["0", "1"], "matrix": sk.confusion_matrix(y, predicted).tolist()}
    fpr, tpr, _ = sk.roc_curve(y, proba[:, 1])
    assert found["roc_curve"] == [{"fpr": float(f), "tpr": float(t)} for f, t in zip(fpr, tpr, strict=True)]
    page = report.read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 4 and all(base64.b64decode(i).startswith(b"\x89PNG\r\n\x1a\n") for i in images)
    assert "http://" not in page and "https://" not in page


def test_builtin_regression_metrics_equal_scikit_learns(tmp_path, capsys):
    code = "# modelop.score\ndef action(r):\n    return {'y': 2 * r['x'] + 1}\n"
    source = write_source(tmp_path / "m", code, inputs=DOUBLER_INPUTS, outputs=[{"name": "y", "type": "double"}])
    x = np.arange(1, 41, dtype=float)
    actual = 2 * x + np.sin(x)
    pd.DataFrame({"x": x, "y": actual}).to_csv(tmp_path / "in.csv", index=False)
    status, _, _ = _run(
        capsys, "job", "metrics", str(source), "--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "m.json"),
        "--target", "y", "--report", str(tmp_path / "r.html"), "--quiet",
    )  # fmt: skip
    found = json.loads((tmp_path / "m.json").read_text())
    guess = 2 * x + 1
    assert status == 0 and found["kind"] == "regression"
    assert found["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(actual, guess)))
    assert found["mae"] == pytest.approx(sk.mean_absolute_error(actual, guess))
    assert found["r2"] == pytest.approx(sk.r2_score(actual, guess))
    assert found["mape"] == pytest.approx(sk.mean_absolute_percentage_error(actual, guess))
    assert len(re.findall("data:image/png;base64,", (tmp_path / "r.html").read_text())) == 2


def test_a_model_sources_own_metrics_function_gives_the_metrics(tmp_path, capsys):
    code = """
        # modelop.score
        def action(r):
            return r

        # modelop.metrics
        def metrics(data):
            yield {"rows": len(data), "mean_x": float(data["x"].mean())}
    """
    source = write_source(tmp_path / "m", code)
    pd.DataFrame({"x": [1.0, 2.0, 6.0]}).to_csv(tmp_path / "in.csv", index=False)
    status, _, _ = _run(
        capsys, "job", "metrics", str(source), "--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "m.json")
    )
    assert status == 0 and json.loads((tmp_path / "m.json").read_text()) == {"rows": 3, "mean_x": 3.0}


def test_train_writes_its_output_dir_files_into_the_output_folder_without_running_init(tmp_path, capsys):
    code = """
        import json

        # modelop.init
        def begin():
            raise RuntimeError("init must not run before training")

        # modelop.score
        def action(r):
            return r

        # modelop.train
        def train(data):
            with open("settings.json") as handle:
                scale = json.load(handle)["scale"]
            with open("outputDir/weights.json", "w") as handle:
                json.dump({"sum": float(data["x"].sum()) * scale}, handle)
            data.to_csv("outputDir/seen.csv", index=False)
    """
    source = write_source(tmp_path / "m", code, files={"settings.json": '{"scale": 10}'})
    pd.DataFrame({"x": [1.0, 2.5]}).to_csv(tmp_path / "train.csv", index=False)
    target = tmp_path / "trained"
    status, stdout, _ = _run(
        capsys, "job", "train", str(source), "--input", str(tmp_path / "train.csv"), "--output-dir", str(target)
    )
    assert status == 0 and stdout.splitlines() == [str(target / "seen.csv"), str(target / "weights.json")]
    assert json.loads((target / "weights.json").read_text()) == {"sum": 35.0}
    assert sorted(p.name for p in source.iterdir()) == ["model.py", "settings.json"]


def test_a_failed_training_leaves_nothing_and_says_why(tmp_path, capsys):
    code = """
        # modelop.score
        def action(r):
            return r

        # modelop.train
        def train(data):
            with open("outputDir/half.bin", "w") as handle:
                handle.write("x")
            raise ValueError("diverged")
    """
    source = write_source(tmp_path / "m", code)
    pd.DataFrame({"x": [1.0]}).to_csv(tmp_path / "train.csv", index=False)
    status, _, stderr = _run(
        capsys,
        "job",
        "train",
        str(source),
        "--input",
        str(tmp_path / "train.csv"),
        "--output-dir",
        str(tmp_path / "out"),
    )
    assert status == 2 and stderr == "scorer: The model's train function failed (ValueError: diverged).\n"
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []
