"""The bundled default model as the README serves it: `scorer serve` with no MODEL.

With `SCORER_EXTERNAL_URL` set, the same tests drive that server instead (the container image check).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.http_assertions import assert_error
from tests.server_process import REPO

pytestmark = pytest.mark.integration

README_CURL_FIELDS = [
    "psa_bar", "psb_bar", "psc_bar", "psd_bar", "pse_bar", "psf_bar", "fsa_vol_flow", "fsb_vol_flow",
    "tsa_temp", "tsb_temp", "tsc_temp", "tsd_temp", "pump_eff", "vs_vib", "cool_pwr_pct", "eff_fact_pct",
]  # fmt: skip


def _readme_curl() -> str:
    readme = (REPO / "README.md").read_text()
    match = re.search(r"```bash\n(curl -s -X POST .*?/model/score.*?)\n```", readme, re.S)
    assert match, "the README's scoring curl example is missing"
    return match.group(1)


def test_readme_mlflow_curl_answers_what_the_readme_shows(default_server):
    """The README's `/invocations` example (MLflow's protocol), run as written."""
    readme = (REPO / "README.md").read_text()
    match = re.search(r"```bash\n(curl -s -X POST [^\n]*/invocations[^\n]*)\n```\n.*?```json\n(.*?)\n```", readme, re.S)
    assert match, "the README's /invocations example is missing"
    command = match.group(1).replace("http://localhost:8080", default_server.url)
    output = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True).stdout
    assert json.loads(output) == json.loads(match.group(2))


def test_readme_curl_scores_the_default_model(default_server):
    """The README's curl, run as written, answers exactly what the README shows."""
    readme = (REPO / "README.md").read_text()
    command = _readme_curl().replace("http://localhost:8080", default_server.url)
    output = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True).stdout
    body = json.loads(output)
    shown = json.loads(re.search(r"```json\n(.*?)\n```", readme, re.S).group(1))
    assert body == shown
    assert body["fields"] == ["cool_cond_y.3", "cool_cond_y.20", "cool_cond_y.100"]
    request = json.loads(re.search(r"-d '(.*?)'", command, re.S).group(1))
    assert request["fields"] == README_CURL_FIELDS
    assert abs(sum(float(v) for v in body["score"][0]) - 1) < 1e-12


def test_default_model_over_http_equals_h2o_in_cluster_predict(default_server):
    rows = pd.read_csv(REPO / "models/hydraulic/cool_cond_y.input.csv", dtype=str, keep_default_na=False)
    expected = pd.read_csv(REPO / "models/hydraulic/cool_cond_y.predict.csv").iloc[:, 1:].to_numpy()
    with default_server.client() as client:
        body = client.post("/model/score", json={"fields": list(rows.columns), "rows": rows.to_numpy().tolist()}).json()
    assert np.abs(np.array(body["score"], dtype=float) - expected).max() <= 1e-9


def test_probes_and_model_endpoints(default_server):
    with default_server.client() as client:
        ready = client.get("/readyz")
        assert (ready.status_code, ready.text) == (200, "Ready")
        assert ready.headers["content-type"].startswith("text/plain")
        live = client.get("/livez")
        assert (live.status_code, live.text) == (200, "OK")
        model_id = client.get("/model/id")
        assert model_id.headers["content-type"].startswith("text/plain") and model_id.text
        assert client.get("/model/capabilities").json() == ["SCORE"]
        schema = client.get("/model/schema").json()
        assert schema["id"] == model_id.text
        assert schema["properties"] == {
            "scoringType": "CLASSIFICATION",
            "scoringResponLabels": ["3", "20", "100"],
        }
        assert [f["name"] for f in schema["schema"]["inputFields"]] == README_CURL_FIELDS
        assert {f["dataType"] for f in schema["schema"]["inputFields"]} == {"Float64"}
        assert schema["schema"]["targetFields"] == [{"name": "cool_cond_y", "dataType": "Str"}]
        assert "H2O-3 gbm MOJO" in schema["description"]
        sample = client.get("/model/sample_request").json()
        assert sample == {"fields": README_CURL_FIELDS, "rows": [["0"] * 16]}
        scored = client.post("/model/score", json=sample)
        assert scored.status_code == 200 and scored.json()["id"] == model_id.text


def test_the_page_and_its_files_are_served(default_server):
    """Also run against the container image: the page's files must be in it."""
    with default_server.client() as client:
        page = client.get("/")
        assert page.status_code == 200 and 'src="/page-assets/page.js"' in page.text
        for name, kind in (("page.js", "text/javascript"), ("page.css", "text/css"), ("favicon.svg", "image/svg+xml")):
            asset = client.get(f"/page-assets/{name}")
            assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)


def test_metrics_count_requests_latency_and_rows(default_server):
    with default_server.client() as client:
        sample = client.get("/model/sample_request").json()
        client.post("/model/score", json={**sample, "rows": sample["rows"] * 7})
        client.post("/model/score", content=b"{", headers={"content-type": "application/json"})
        text = client.get("/metrics").text
    assert re.search(r'scorer_requests_total\{[^}]*route="/model/score",status="200"\} [1-9]', text)
    assert re.search(r'scorer_requests_total\{[^}]*route="/model/score",status="400"\} [1-9]', text)
    assert (
        'scorer_request_duration_seconds_bucket{deployment="cool_cond_y",le="0.005",model="cool_cond_y",route="/model/score"}'
        in text
    )
    rows = float(re.search(r"^scorer_rows_scored_total\{[^}]*\} (\S+)$", text, re.M).group(1))
    assert rows >= 7


def test_score_file_is_disabled_without_a_directory(default_server):
    with default_server.client() as client:
        assert_error(client.get("/model/score", params={"file": "x.csv"}), 404, "SCORER_SCORE_FILE_DIR")


def test_readme_v2_examples_score_the_default_model_as_the_h2o_api_does(default_server):
    """The README's V2 curl and its tritonclient snippet, run as written against this server."""
    readme = (REPO / "README.md").read_text()
    curl = re.search(
        r"```bash\n(?:.*\n)*?(curl -s -X POST localhost:8080/v2/models/cool_cond_y/infer .*?)\n```", readme
    )
    assert curl, "the README's V2 curl example is missing"
    command = curl.group(1).replace("localhost:8080", default_server.url)
    body = json.loads(subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True).stdout)
    row = json.loads(re.search(r"-d '(.*?)'", command).group(1))["inputs"][0]["data"]
    with default_server.client() as client:
        h2o = client.post("/model/score", json={"fields": README_CURL_FIELDS, "rows": [[repr(v) for v in row]]}).json()
    assert [o["name"] for o in body["outputs"]] == h2o["fields"]
    assert [o["data"][0] for o in body["outputs"]] == [float(v) for v in h2o["score"][0]]
    snippet = re.search(r"```python\n(import numpy as np\nimport tritonclient.http.*?)\n```", readme, re.S).group(1)
    address = default_server.url.removeprefix("http://")
    printed = subprocess.run(
        [sys.executable, "-c", snippet.replace("localhost:8080", address)], capture_output=True, text=True, check=True
    ).stdout
    assert printed.startswith("[") and len(printed.strip("[]\n").split()) == 3
