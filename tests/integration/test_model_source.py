"""The bundled model source (models/credit-source) served for real: the H2O API, V2 through
tritonclient, the h2o_mlops client, schema rejections, and the README's commands as written."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import tritonclient.http as triton_http

from tests.server_process import REPO, run_scorer, start_server

pytestmark = pytest.mark.integration
SOURCE = REPO / "models" / "credit-source"
DATA = REPO / "models" / "data" / "creditcard.csv"
TARGET = "default payment next month"
INTS = {"SEX", "EDUCATION", "MARRIAGE", "AGE", "PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"}


@pytest.fixture(scope="module")
def source_server(server_logs):
    server = start_server(SOURCE, server_logs)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return pd.read_csv(DATA, nrows=60).drop(columns=[TARGET])


def _reference(frame: pd.DataFrame, monkeypatch) -> list[dict]:
    """The model source's own functions called directly, in its folder: what ModelOp would answer."""
    spec = importlib.util.spec_from_file_location("credit_source_reference", SOURCE / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.chdir(SOURCE)
    module.begin()
    records = frame.astype(object).to_dict(orient="records")
    return [
        next(module.action({k: (int(v) if k in INTS or k == "ID" else float(v)) for k, v in r.items()}))
        for r in records
    ]


def _body(frame: pd.DataFrame) -> dict:
    return {"fields": list(frame.columns), "rows": frame.astype(str).to_numpy().tolist()}


def test_the_h2o_api_answers_what_the_source_itself_computes(source_server, rows, monkeypatch):
    with source_server.client() as client:
        assert client.get("/readyz").text == "Ready"
        schema = client.get("/model/schema").json()["schema"]
        answer = client.post("/model/score", json=_body(rows)).json()
        sample = client.get("/model/sample_request").json()
        assert client.post("/model/score", json=sample).status_code == 200
    assert [f["name"] for f in schema["inputFields"]] == list(rows.columns)
    assert {f["name"]: f["dataType"] for f in schema["inputFields"]}["BILL_AMT1"] == "Float64"
    assert {f["name"]: f["dataType"] for f in schema["inputFields"]}["AGE"] == "Int32"
    assert answer["fields"] == [f["name"] for f in schema["outputFields"]]
    expected = _reference(rows, monkeypatch)
    assert answer["score"] == [[str(v) if not isinstance(v, float) else repr(v) for v in e.values()] for e in expected]


def test_tritonclient_scores_the_source_like_the_h2o_api(source_server, rows):
    client = triton_http.InferenceServerClient(source_server.url.removeprefix("http://"))
    assert client.is_model_ready("credit-source")
    inputs = []
    for name in rows.columns:
        kind, dtype = (
            ("INT64", np.int64) if name == "ID" else ("INT32", np.int32) if name in INTS else ("FP64", np.float64)
        )
        tensor = triton_http.InferInput(name, [len(rows)], kind)
        tensor.set_data_from_numpy(rows[name].to_numpy(dtype=dtype))
        inputs.append(tensor)
    result = client.infer("credit-source", inputs)
    with source_server.client() as http:
        h2o = http.post("/model/score", json=_body(rows)).json()
    for column, name in enumerate(h2o["fields"]):
        np.testing.assert_array_equal(result.as_numpy(name), [float(r[column]) for r in h2o["score"]])


def test_the_h2o_mlops_client_scores_it_unchanged(source_server, rows):
    from h2o_mlops import options
    from h2o_mlops._deployments import MLOpsDeploymentScorer

    interface = SimpleNamespace(
        score=SimpleNamespace(uri=f"{source_server.url}/model/score"),
        sample_request=SimpleNamespace(uri=f"{source_server.url}/model/sample_request"),
        schema=SimpleNamespace(uri=f"{source_server.url}/model/schema"),
        readyz=SimpleNamespace(uri=f"{source_server.url}/readyz"),
    )
    scorer = MLOpsDeploymentScorer(
        client=SimpleNamespace(_ssl_context=None),
        metadata=SimpleNamespace(scoring_interface=interface, name="credit-source"),
        security_options=options.SecurityOptions(),
    )
    answer = scorer.score(_body(rows.head(3)))
    assert [row[0] for row in answer["score"]] == ["1", "2", "3"]


def test_a_record_the_schema_refuses_is_a_400_naming_it_and_the_next_request_is_served(source_server, rows):
    bad = _body(rows.head(3))
    bad["rows"][2][bad["fields"].index("AGE")] = "thirty"
    with source_server.client() as client:
        refused = client.post("/model/score", json=bad)
        missing = _body(rows.head(1))
        missing["rows"][0][missing["fields"].index("PAY_AMT1")] = ""
        refused_missing = client.post("/model/score", json=missing)
        v2 = client.post("/v2/models/credit-source/infer", json={"inputs": [
            {"name": n, "datatype": "BYTES", "shape": [1], "data": [v]} for n, v in zip(bad["fields"], bad["rows"][2], strict=True)
        ]})  # fmt: skip
        served = client.post("/model/score", json=_body(rows.head(2)))
    assert refused.status_code == 400
    assert refused.json() == {
        "detail": "Row 2 was rejected by schema: field 'AGE' has the value 'thirty', which is not an int."
    }
    assert refused_missing.status_code == 400 and "field 'PAY_AMT1' is missing" in refused_missing.json()["detail"]
    assert v2.status_code == 400 and "rejected by schema: field 'AGE'" in v2.json()["error"]
    assert served.status_code == 200 and len(served.json()["score"]) == 2


def test_an_init_that_raises_stops_the_server_at_start_with_one_sentence(tmp_path):
    (tmp_path / "model.py").write_text(
        "# modelop.init\ndef begin():\n    open('weights.pkl')\n\n# modelop.score\ndef action(r):\n    return r\n"
    )
    run = run_scorer("serve", str(tmp_path), "--port", "0", timeout=120)
    assert run.returncode == 2
    assert (
        run.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "scorer: The init function of the model source model.py failed (FileNotFoundError: [Errno 2] No such file"
        )
    )
    assert "Traceback" not in run.stderr


def test_the_readme_model_source_commands_run_as_written(source_server, tmp_path):
    """The README's bash block (its `scorer serve` line is the server this test started), on the
    first 2,000 records so the per-record score function keeps the test short."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Model sources") :]
    bash = re.search(r"```bash\n(.*?)\n```", section, re.S).group(1)
    bash = "\n".join(line for line in bash.splitlines() if not line.startswith(".venv/bin/scorer serve"))
    small = tmp_path / "creditcard.csv"
    pd.read_csv(DATA, nrows=2000).to_csv(small, index=False)
    script = (
        bash.replace("localhost:8080", source_server.url.removeprefix("http://"))
        .replace("/tmp/credit", str(tmp_path / "credit"))
        .replace("models/data/creditcard.csv", str(small))
        .replace(".venv/bin/scorer", f"{sys.executable} -m scoring_runtime")
    )
    shell = subprocess.run(
        ["bash", "-c", f"set -euo pipefail\n{script}"], capture_output=True, text=True, cwd=REPO, timeout=600
    )
    assert shell.returncode == 0, shell.stderr
    out = tmp_path / "credit"
    assert '"fields":["ID","default_payment_next_month_0"' in shell.stdout
    assert "Row 0 was rejected by schema: field 'ID' has the value 'seven', which is not a long." in shell.stdout
    assert "scored 2000 records, rejected 0" in shell.stdout
    assert len(pd.read_parquet(out / "scores.parquet")) == 2000
    own, builtin = json.loads((out / "own.json").read_text()), json.loads((out / "metrics.json").read_text())
    assert own["auc"] == pytest.approx(builtin["auc"], abs=1e-12) and own["f2_score"] == pytest.approx(builtin["f2"])
    assert (out / "report.html").stat().st_size > 10_000 and (out / "trained" / "credit_lr.pkl").is_file()
