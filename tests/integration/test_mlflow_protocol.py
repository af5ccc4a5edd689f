"""MLflow's scoring protocol side by side with a real `mlflow models serve` on the same model:
every input form answers the same status and the same JSON; any other model answers one record
per row keyed by its output fields, with the numbers the H2O API gives."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import mlflow.sklearn
import pandas as pd
import pytest
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

from tests.server_process import REPO, ServerProcess, free_port, start_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DATA = REPO / "models" / "data" / "hydraulic.csv"
FEATURES = ["psa_bar", "psb_bar", "fsa_vol_flow", "tsa_temp", "vs_vib", "cool_pwr_pct"]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """A classifier saved with MLflow's scikit-learn flavor: pyfunc's predict answers labels."""
    frame = pd.read_csv(DATA).dropna(subset=FEATURES)
    model = LogisticRegression(max_iter=2000).fit(frame[FEATURES], frame["cool_cond_y"])
    folder = tmp_path_factory.mktemp("mlflow") / "cooler"
    signature = infer_signature(frame[FEATURES], pd.Series(model.predict(frame[FEATURES]), name="cool_cond_y"))
    mlflow.sklearn.save_model(model, str(folder), signature=signature)
    return folder, frame[FEATURES].head(5)


@pytest.fixture(scope="module")
def ours(classifier, server_logs):
    server = start_server(classifier[0], server_logs)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def theirs(classifier, server_logs):
    """`mlflow models serve`, MLflow's own server, in this environment."""
    port = free_port()
    log = (server_logs / f"mlflow-{port}.log").open("wb")
    command = [str(Path(sys.executable).with_name("mlflow")), "models", "serve", "-m", str(classifier[0]),
               "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]  # fmt: skip
    bin_dir = str(Path(sys.executable).parent)  # it runs `uvicorn` from the PATH
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    server = ServerProcess(f"http://127.0.0.1:{port}", process, Path(log.name))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{server.url}/ping", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        raise RuntimeError(f"mlflow models serve did not start:\n{server.log}")
    yield server
    server.stop()


def _bodies(rows: pd.DataFrame) -> list[tuple[str, bytes, str]]:
    split = rows.to_json(orient="split", index=False)
    records = rows.to_json(orient="records")
    columns = json.dumps(rows.to_dict(orient="list"))
    csv = io.StringIO()
    rows.to_csv(csv, index=False)
    return [
        ("dataframe_split", f'{{"dataframe_split": {split}}}'.encode(), "application/json"),
        ("dataframe_records", f'{{"dataframe_records": {records}}}'.encode(), "application/json"),
        ("instances", f'{{"instances": {records}}}'.encode(), "application/json"),
        ("inputs", f'{{"inputs": {columns}}}'.encode(), "application/json"),
        ("csv", csv.getvalue().encode(), "text/csv"),
    ]


def test_every_input_form_answers_as_mlflow_models_serve_does(classifier, ours, theirs):
    for form, body, content_type in _bodies(classifier[1]):
        headers = {"content-type": content_type}
        mine = httpx.post(f"{ours.url}/invocations", content=body, headers=headers, timeout=30)
        reference = httpx.post(f"{theirs.url}/invocations", content=body, headers=headers, timeout=30)
        assert reference.status_code == 200, (form, reference.text)
        assert (mine.status_code, mine.json()) == (reference.status_code, reference.json()), form


def test_probes_and_version_answer_as_mlflow_does(ours, theirs):
    for path in ("/ping", "/health"):
        mine, reference = httpx.get(ours.url + path), httpx.get(theirs.url + path)
        assert (mine.status_code, mine.text) == (reference.status_code, reference.text)
    assert httpx.get(ours.url + "/version").text == httpx.get(theirs.url + "/version").text


def test_a_bad_request_is_one_sentence_in_mlflows_shape_without_a_stack_trace(ours):
    for body in (b'{"dataframe_split": {"columns": ["psa_bar"], "data": [["x"]]}}', b"not json", b"{}"):
        response = httpx.post(f"{ours.url}/invocations", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400, response.text
        answer = response.json()
        assert set(answer) == {"error_code", "message"} and answer["error_code"] == "BAD_REQUEST"
        assert "Traceback" not in answer["message"] and "\n" not in answer["message"]
    unsupported = httpx.post(f"{ours.url}/invocations", content=b"x", headers={"content-type": "text/xml"})
    assert unsupported.status_code == 415 and set(unsupported.json()) == {"error_code", "message"}


def test_any_other_model_answers_records_keyed_by_its_output_fields(server_logs):
    model = REPO / "models" / "hydraulic" / "cool_cond_y.joblib"
    server = start_server(model, server_logs)
    try:
        with server.client() as client:
            table = pd.read_csv(model.with_suffix(".input.csv"), dtype=str, keep_default_na=False)
            table = table[(table != "NA").all(axis=1)].head(3)
            h2o = client.post("/model/score", json={"fields": list(table.columns), "rows": table.to_numpy().tolist()})
            for form, body, content_type in _bodies(table):
                answer = client.post("/invocations", content=body, headers={"content-type": content_type})
                assert answer.status_code == 200, (form, answer.text)
                expected = [
                    {name: float(value) for name, value in zip(h2o.json()["fields"], row, strict=True)}
                    for row in h2o.json()["score"]
                ]
                assert answer.json() == {"predictions": expected}, form
            missing = client.post("/invocations", json={"dataframe_records": [{"psa_bar": 1}]})
            assert missing.status_code == 400 and missing.json()["error_code"] == "BAD_REQUEST"
            assert missing.json()["message"].startswith("The request lacks the model input field(s) 'psb_bar'")
    finally:
        server.stop()
