"""Several models in one real server: deployments from a file, A/B tests, champion/challenger,
and loading, unloading and reloading models while requests keep coming."""

from __future__ import annotations

import collections
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import joblib
import numpy as np
import pytest
import yaml
from sklearn.ensemble import RandomForestClassifier

from scoring_runtime.protocols.h2o.codec import schema_document
from tests import model_builders
from tests.served import serve
from tests.server_process import REPO, run_scorer, start_server
from tests.shadow_models import FailingChallenger, SlowChallenger

pytestmark = pytest.mark.integration
INPUTS = model_builders.CREDIT_CATEGORICAL + model_builders.CREDIT_NUMERIC


def _request(frame) -> dict:
    return {"fields": INPUTS, "rows": frame[INPUTS].astype(str).to_numpy().tolist()}


def _write(folder: Path, document: dict, name: str = "deployments.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def credit_models(tmp_path_factory, credit_frame) -> Path:
    """gbm and rf (a random forest) over the same inputs, and two misbehaving challengers."""
    folder = tmp_path_factory.mktemp("deployments")
    gbm = model_builders.credit_pipeline(folder, credit_frame)
    model_builders.credit_pipeline(
        folder, credit_frame, RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0), "credit_rf"
    )
    schema = schema_document(serve(gbm))["schema"]
    pipeline = joblib.load(gbm)
    for name, wrapper in (("failing", FailingChallenger), ("slow", SlowChallenger)):
        joblib.dump(wrapper(pipeline), folder / f"{name}.joblib")
        (folder / f"{name}.joblib.schema.json").write_text(json.dumps(schema))
    return folder


@pytest.fixture(scope="module")
def deployments_server(credit_models, server_logs):
    config = _write(
        credit_models,
        {
            "models": {
                "gbm": {"path": "credit_gbm.joblib", "id": "credit-gbm-v1"},
                "rf": {"path": "credit_rf.joblib", "id": "credit-rf-v1"},
                "failing": {"path": "failing.joblib"},
                "slow": {"path": "slow.joblib"},
            },
            "deployments": {
                "credit": {"model": "gbm"},
                "credit-ab": {"ab": {"gbm": 70, "rf": 30}},
                "credit-cc": {"champion": "gbm", "challengers": ["rf", "failing", "slow"]},
            },
        },
    )
    server = start_server(None, server_logs, "--config", str(config), env={"SCORER_CHALLENGER_QUEUE": "2"})
    yield server
    server.stop()


def test_every_deployment_serves_the_whole_api(deployments_server, credit_frame):
    request = _request(credit_frame.head(3))
    with deployments_server.client() as client:
        for deployment in ("credit", "credit-ab", "credit-cc"):
            assert client.get(f"/{deployment}/readyz").status_code == 200
            assert client.get(f"/{deployment}/model/schema").json()["schema"]["inputFields"]
            sample = client.get(f"/{deployment}/model/sample_request").json()
            assert client.post(f"/{deployment}/model/score", json=sample).status_code == 200
            assert client.post(f"/{deployment}/model/score", json=request).status_code == 200
        assert client.get("/credit/readyz").status_code == 200
        assert client.get("/credit/model/id").text == "credit-gbm-v1"
        root = client.post("/model/score", json=request)
        assert root.status_code == 404 and "credit, credit-ab, credit-cc" in root.json()["detail"]
        assert client.get("/nope/model/schema").json()["detail"].startswith("There is no deployment or model 'nope'")
        # the failing challenger cannot score its sample: it is not ready as a model of its own,
        # but it never keeps its champion (or the server) from being ready
        assert client.get("/v2/models/failing/ready").status_code == 503
        assert client.get("/failing/readyz").status_code == 503
        assert client.get("/credit-cc/readyz").status_code == 200 and client.get("/readyz").status_code == 200


def test_the_h2o_mlops_client_scores_each_deployment_url(deployments_server, credit_frame):
    """The `h2o_mlops` client's deployment scorer, given each deployment's URLs as MLOps would
    hand them out. The MLOps platform that would describe the deployment cannot run here, so its
    metadata is a plain object holding the URLs; every HTTP call is the client's own."""
    from h2o_mlops import options
    from h2o_mlops._deployments import MLOpsDeploymentScorer

    request = _request(credit_frame.head(4))
    for deployment in ("credit", "credit-ab", "credit-cc"):
        base = f"{deployments_server.url}/{deployment}"
        interface = SimpleNamespace(
            score=SimpleNamespace(uri=f"{base}/model/score"),
            capabilities=SimpleNamespace(uri=f"{base}/model/capabilities"),
            sample_request=SimpleNamespace(uri=f"{base}/model/sample_request"),
        )
        scorer = MLOpsDeploymentScorer(
            client=SimpleNamespace(_ssl_context=None),
            metadata=SimpleNamespace(scoring_interface=interface, name=deployment),
            security_options=options.SecurityOptions(),
        )
        answer = scorer.score(request)
        assert len(answer["score"]) == 4
        assert answer["id"] in ("credit-gbm-v1", "credit-rf-v1")
        assert scorer.schema()["schema"]["inputFields"]
        assert scorer.sample_request()["fields"]
        assert "SCORE" in scorer.capabilities()


def test_ab_follows_the_weights_and_sticky_keys_never_switch(deployments_server, credit_frame):
    body = _request(credit_frame.head(1))
    counts: collections.Counter[str] = collections.Counter()
    with deployments_server.client() as client:
        for _ in range(1000):
            response = client.post("/credit-ab/model/score", json=body)
            model = response.headers["x-scorer-model"]
            assert response.json()["id"] == {"gbm": "credit-gbm-v1", "rf": "credit-rf-v1"}[model]
            counts[model] += 1
        assert abs(counts["gbm"] / 1000 - 0.70) <= 0.06, counts
        sticky = {}
        for key in (f"customer-{i}" for i in range(60)):
            seen = {
                client.post("/credit-ab/model/score", json=body, headers={"x-scorer-route-key": key}).headers[
                    "x-scorer-model"
                ]
                for _ in range(5)
            }
            assert len(seen) == 1, key
            sticky[key] = seen.pop()
        assert set(sticky.values()) == {"gbm", "rf"}
        v2 = client.post(
            "/v2/models/credit-ab/infer",
            json={
                "inputs": [
                    {"name": n, "datatype": "BYTES", "shape": [1], "data": [str(v)]}
                    for n, v in zip(INPUTS, body["rows"][0], strict=True)
                ]
            },
            headers={"x-scorer-route-key": "customer-0"},
        )
        assert v2.status_code == 200 and v2.headers["x-scorer-model"] == sticky["customer-0"]
        assert v2.json()["model_name"] == "credit-ab"


def test_challengers_never_touch_the_champions_answer(deployments_server, credit_frame):
    with deployments_server.client() as client:
        time.sleep(1.5)  # what earlier tests queued for the slow challenger is done
        before = {c["model"]: c for c in client.get("/credit-cc/model/challengers").json()}
        for start in range(0, 200, 20):
            body = _request(credit_frame.iloc[start : start + 20])
            single = client.post("/credit/model/score", json=body)
            shadowed = client.post("/credit-cc/model/score", json=body)
            assert shadowed.status_code == 200
            assert shadowed.json() == single.json()  # the same text, so the same bits
            assert shadowed.headers["x-scorer-model"] == "gbm"
        time.sleep(1.5)
        report = {c["model"]: c for c in client.get("/credit-cc/model/challengers").json()}
        metrics = client.get("/metrics").text

    def grew(model: str, figure: str) -> int:
        return report[model][figure] - before[model][figure]

    assert grew("rf", "scored") == 10 and 0 < report["rf"]["meanAbsDiff"] < 0.5
    assert 0.5 < report["rf"]["agreement"] <= 1 and report["rf"]["latencyMsP50"] > 0
    assert grew("failing", "failed") == 10 and report["failing"]["scored"] == 0
    # a queue of 2 and one in progress: the rest were skipped, none waited
    assert grew("slow", "skipped") > 0 and 7 <= grew("slow", "scored") + grew("slow", "skipped") <= 10
    failed = report["failing"]["failed"]
    assert f'scorer_challenger_failed_total{{deployment="credit-cc",model="failing"}} {failed}.0' in metrics
    scored = report["rf"]["scored"]
    assert f'scorer_challenger_scored_total{{deployment="credit-cc",model="rf"}} {scored}.0' in metrics


def test_v2_serves_models_and_deployments_and_the_repository(deployments_server):
    with deployments_server.client() as client:
        assert "model_repository" in client.get("/v2").json()["extensions"]
        assert client.get("/v2/models/credit-cc").json()["parameters"]["model_id"] == "credit-gbm-v1"
        assert client.get("/v2/models/rf/ready").json() == {"name": "rf", "ready": True}
        index = {m["name"]: m for m in client.post("/v2/repository/index").json()}
        assert set(index) == {"gbm", "rf", "failing", "slow"} and index["rf"]["state"] == "READY"
        assert client.post("/v2/repository/models/nope/load").status_code == 404


# --- reloading under load, with two workers ---------------------------------------------------


@pytest.fixture(scope="module")
def reload_server(credit_models, server_logs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("reload")
    shutil.copy(credit_models / "credit_gbm.joblib", folder / "current.joblib")
    model_builders.write_credit_schema(folder / "current.joblib")
    config = _write(
        folder, {"models": {"current": {"path": "current.joblib"}}, "deployments": {"credit": {"model": "current"}}}
    )
    server = start_server(None, server_logs, "--config", str(config), "--workers", "2", ready_timeout=120)
    server.folder = folder  # type: ignore[attr-defined]
    yield server
    server.stop()


def test_a_reload_under_load_answers_every_request_from_the_old_or_the_new_model(
    reload_server, credit_models, credit_frame
):
    body = _request(credit_frame.head(5))
    with reload_server.client() as client:
        old = client.post("/credit/model/score", json=body).json()["score"]
    shutil.copy(credit_models / "credit_rf.joblib", reload_server.folder / "current.tmp")
    os.replace(reload_server.folder / "current.tmp", reload_server.folder / "current.joblib")
    stop = threading.Event()
    answers: list[tuple[int, object]] = []

    def load() -> None:
        with httpx.Client(base_url=reload_server.url, timeout=60) as client:
            while not stop.is_set():
                response = client.post("/credit/model/score", json=body)
                answers.append((response.status_code, response.json().get("score")))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for _ in range(4):
            pool.submit(load)
        time.sleep(0.5)
        with reload_server.client() as client:
            loaded = client.post("/v2/repository/models/current/load")
            assert loaded.status_code == 200, loaded.text
            new = client.post("/credit/model/score", json=body).json()["score"]
            for _ in range(10):  # every worker swapped before the call returned
                assert client.post("/credit/model/score", json=body).json()["score"] == new
        time.sleep(0.5)
        stop.set()
    assert new != old
    assert answers and all(status == 200 for status, _ in answers)
    assert {json.dumps(score) for _, score in answers} <= {json.dumps(old), json.dumps(new)}


def test_a_broken_artifact_keeps_the_old_model_and_unload_then_load(reload_server, credit_frame):
    body = _request(credit_frame.head(2))
    artifact = reload_server.folder / "current.joblib"
    saved = artifact.read_bytes()
    with reload_server.client() as client:
        before = client.post("/credit/model/score", json=body).json()
        artifact.write_bytes(b"not a pickle")
        refused = client.post("/v2/repository/models/current/load")
        assert refused.status_code == 400 and "still serves" in refused.json()["error"]
        for _ in range(6):
            assert client.post("/credit/model/score", json=body).json() == before
        artifact.write_bytes(saved)
        assert client.post("/v2/repository/models/current/unload").status_code == 200
        for _ in range(6):
            unloaded = client.post("/credit/model/score", json=body)
            assert unloaded.status_code == 503 and "unloaded" in unloaded.json()["detail"]
        index = client.post("/v2/repository/index").json()
        assert index[0]["state"] == "UNAVAILABLE"
        assert client.post("/v2/repository/models/current/load").status_code == 200
        for _ in range(6):
            assert client.post("/credit/model/score", json=body).status_code == 200


def test_sighup_reaches_every_worker(reload_server):
    """The supervisor passes SIGHUP on: each worker re-reads the file and serves what it adds."""
    _write(
        reload_server.folder,
        {
            "models": {"current": {"path": "current.joblib"}},
            "deployments": {"credit": {"model": "current"}, "again": {"model": "current"}},
        },
    )
    reload_server.process.send_signal(signal.SIGHUP)

    def every_worker_serves_it() -> bool:  # a new connection each time, so both workers answer some
        return all(httpx.get(f"{reload_server.url}/again/readyz").status_code == 200 for _ in range(12))

    assert _eventually(every_worker_serves_it)
    assert reload_server.process.poll() is None


# --- the file re-read on SIGHUP, artifacts watched ------------------------------------------


def test_sighup_rereads_the_file_and_watch_reloads_a_changed_artifact(
    credit_models, server_logs, tmp_path, credit_frame
):
    shutil.copy(credit_models / "credit_gbm.joblib", tmp_path / "a.joblib")
    model_builders.write_credit_schema(tmp_path / "a.joblib")
    config = _write(tmp_path, {"models": {"a": {"path": "a.joblib"}}})
    server = start_server(None, server_logs, "--config", str(config), env={"SCORER_WATCH": "true"})
    body = _request(credit_frame.head(3))
    try:
        with server.client() as client:
            first = client.post("/model/score", json=body).json()["score"]
            shutil.copy(credit_models / "credit_rf.joblib", tmp_path / "a.joblib")
            assert _eventually(lambda: client.post("/model/score", json=body).json()["score"] != first)
            _write(
                tmp_path,
                {
                    "models": {"a": {"path": "a.joblib"}, "b": {"path": str(credit_models / "credit_gbm.joblib")}},
                    "deployments": {"both": {"ab": {"a": 1, "b": 1}}},
                },
            )
            server.process.send_signal(signal.SIGHUP)
            assert _eventually(lambda: client.get("/both/readyz").status_code == 200)
            assert client.post("/model/score", json=body).status_code == 200  # the only deployment now
            config.write_text("models: [")
            server.process.send_signal(signal.SIGHUP)
            time.sleep(1)
            assert client.get("/both/readyz").status_code == 200
        assert server.process.poll() is None
        assert "the deployments were not changed" in server.log
    finally:
        server.stop()


def _eventually(check, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


# --- a file that cannot work stops the server at start ---------------------------------------


@pytest.mark.parametrize(
    ("document", "sentence"),
    [
        ({"models": {"a": {"path": "missing.joblib"}}}, "model 'a': the artifact"),
        ({"models": {"a": {"path": "credit_gbm.joblib"}}, "deployments": {"d": {"model": "x"}}}, "names the model 'x'"),
        ({"models": {"a": {"path": "credit_gbm.joblib"}}, "deployments": {"d": {"ab": {"a": 0}}}}, "positive integer"),
        (
            {"models": {"a": {"path": "credit_gbm.joblib"}}, "deployments": {"a": {"model": "a"}}},
            "used by a model and a deployment",
        ),
        (
            {
                "models": {
                    "a": {"path": "credit_gbm.joblib"},
                    "h": {"path": str(REPO / "models/hydraulic/cool_cond_y.joblib")},
                },
                "deployments": {"d": {"ab": {"a": 1, "h": 1}}},
            },
            "read different input fields",
        ),
    ],
)
def test_an_invalid_file_is_exit_2_and_one_sentence(credit_models, document, sentence):
    config = _write(credit_models, document, "broken.yaml")
    try:
        run = run_scorer("serve", "--config", str(config), "--port", "0", timeout=120)
    finally:
        config.unlink()
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and sentence in lines[0], run.stderr


def test_inspect_prints_every_model_and_deployment(credit_models):
    config = _write(
        credit_models,
        {
            "models": {"a": {"path": "credit_gbm.joblib"}, "b": {"path": "credit_rf.joblib"}},
            "deployments": {"d": {"ab": {"a": 3, "b": 1}}},
        },
        "inspect.yaml",
    )
    try:
        run = run_scorer("inspect", "--config", str(config), timeout=120)
    finally:
        config.unlink()
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert set(report["models"]) == {"a", "b"} and report["deployments"] == {"d": {"ab": {"a": 3, "b": 1}}}
    assert np.isclose(len(report["models"]["a"]["schema"]["inputFields"]), len(INPUTS))


def test_the_readme_deployments_example_runs_as_written(server_logs):
    """The README's curl lines and its h2o_mlops snippet against `scorer serve --config models/deployments.yaml`."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Several models") :]
    bash = re.search(r"```bash\n(.*?)\n```", section, re.S).group(1)
    python = re.search(r"```python\n(.*?)\n```", section, re.S).group(1)
    server = start_server(None, server_logs, "--config", str(REPO / "models/deployments.yaml"))
    try:
        address = server.url.removeprefix("http://")
        shell = subprocess.run(
            ["bash", "-c", f"set -euo pipefail\n{bash.replace('localhost:8080', address)}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shell.returncode == 0, shell.stderr
        assert re.search(r"x-scorer-model: (mojo|sklearn)", shell.stdout)
        assert '"model":"sklearn"' in shell.stdout and '"state":"READY"' in shell.stdout
        printed = subprocess.run(
            [sys.executable, "-c", python.replace("localhost:8080", address)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert printed.returncode == 0, printed.stderr
        assert printed.stdout.split()[0] in ("cooler-mojo-v1", "cooler-sklearn-v1")
        with server.client() as client:
            assert client.get("/readyz").text == "Ready"
    finally:
        server.stop()
