"""The Open Inference Protocol on real servers, driven by the real clients with their defaults:
`tritonclient.http` (binary tensors both ways), `tritonclient.grpc`, plain JSON over httpx. Every
answer equals what `/model/score` (or `/model/contribution`) answers for the same rows, to the bit."""

from __future__ import annotations

import base64
import json
import subprocess
import time

import grpc
import httpx
import numpy as np
import pytest
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from tritonclient.utils import InferenceServerException

from tests import model_builders
from tests.http_assertions import assert_error
from tests.model_builders import CREDIT_CATEGORICAL, CREDIT_NUMERIC, CREDIT_TARGET
from tests.server_process import REPO, free_port, start_server

pytestmark = pytest.mark.integration

PREFIX = "/0b7cf4f2-5c5e-4ad5-9b53-1f0b2b3f0a11"
INPUTS = CREDIT_CATEGORICAL + CREDIT_NUMERIC
MOJO = REPO / "tests" / "fixtures" / "h2o" / "gbm_binomial.zip"
DIGITS = REPO / "models" / "digits"


def _grpc_server(model, server_logs, *args, env=None):
    port = free_port()
    server = start_server(model, server_logs, "--grpc-port", str(port), *args, env=env)
    server.grpc = f"127.0.0.1:{port}"  # type: ignore[attr-defined]
    return server


@pytest.fixture(scope="module")
def mojo_server(server_logs):
    server = _grpc_server(MOJO, server_logs)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mlflow_server(server_logs, model_dir):
    folder, features = model_builders.mlflow_regressor(model_dir)
    server = start_server(folder, server_logs)
    server.features = features  # type: ignore[attr-defined]
    yield server
    server.stop()


def _h2o_scores(client: httpx.Client, base: str, fields: list[str], rows: list[list[str]], **extra) -> dict:
    response = client.post(f"{base}/model/score", json={"fields": fields, "rows": rows, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def _triton_inputs(module, frame) -> list:
    inputs = []
    for name in INPUTS:
        if name in CREDIT_CATEGORICAL:
            tensor = module.InferInput(name, [len(frame)], "BYTES")
            tensor.set_data_from_numpy(frame[name].astype(str).to_numpy(dtype=object))
        else:
            tensor = module.InferInput(name, [len(frame)], "FP64")
            tensor.set_data_from_numpy(frame[name].to_numpy(dtype=np.float64))
        inputs.append(tensor)
    return inputs


def _mojo_rows() -> tuple[list[str], list[list[str]]]:
    lines = MOJO.with_suffix(".input.csv").read_text().splitlines()
    return lines[0].split(","), [line.split(",") for line in lines[1:51]]


def _mojo_inputs(module, schema: dict) -> list:
    fields, rows = _mojo_rows()
    columns = dict(zip(fields, zip(*rows, strict=True), strict=True))
    inputs = []
    for field in schema["schema"]["inputFields"]:
        values = np.array(columns[field["name"]], dtype=object)
        if field["dataType"] == "Str":
            tensor = module.InferInput(field["name"], [len(rows)], "BYTES")
            tensor.set_data_from_numpy(values)
        else:
            numbers = np.array([np.nan if v == "NA" else float(v) for v in values], dtype=np.float64)
            tensor = module.InferInput(field["name"], [len(rows)], "FP64")
            tensor.set_data_from_numpy(numbers)
        inputs.append(tensor)
    return inputs


# --- tritonclient.http, defaults: binary tensors in and out ------------------------------------


@pytest.mark.parametrize("base", ["", PREFIX])
def test_tritonclient_http_defaults_equal_the_h2o_api_to_the_bit(credit_server, credit_frame, base):
    sample = credit_frame.sample(300, random_state=11)
    client = triton_http.InferenceServerClient(credit_server.url.removeprefix("http://") + base)
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("credit_gbm")
    result = client.infer("credit_gbm", _triton_inputs(triton_http, sample))
    assert all("binary_data_size" in o["parameters"] for o in result.get_response()["outputs"])
    with credit_server.client() as http:
        h2o = _h2o_scores(http, base, INPUTS, sample[INPUTS].astype(str).to_numpy().tolist())
    for column, name in enumerate(h2o["fields"]):
        expected = np.array([float(row[column]) for row in h2o["score"]])
        np.testing.assert_array_equal(result.as_numpy(name), expected)
    assert result.get_response()["parameters"]["model_id"] == h2o["id"]


def test_tritonclient_http_json_tensors_and_output_selection(credit_server, credit_frame):
    sample = credit_frame.head(5)
    client = triton_http.InferenceServerClient(credit_server.url.removeprefix("http://"))
    inputs = _triton_inputs(triton_http, sample)
    for tensor, name in zip(inputs, INPUTS, strict=True):
        data = (
            sample[name].astype(str).to_numpy(dtype=object)
            if name in CREDIT_CATEGORICAL
            else sample[name].to_numpy(dtype=np.float64)
        )
        tensor.set_data_from_numpy(data, binary_data=False)
    wanted = triton_http.InferRequestedOutput(f"{CREDIT_TARGET}.1", binary_data=False)
    result = client.infer("credit_gbm", inputs, outputs=[wanted], model_version="1")
    outputs = result.get_response()["outputs"]
    assert [o["name"] for o in outputs] == [f"{CREDIT_TARGET}.1"] and "data" in outputs[0]
    with credit_server.client() as http:
        h2o = _h2o_scores(http, "", INPUTS, sample[INPUTS].astype(str).to_numpy().tolist())
    np.testing.assert_array_equal(result.as_numpy(f"{CREDIT_TARGET}.1"), [float(r[1]) for r in h2o["score"]])


# --- an H2O-3 MOJO over gRPC and REST, with contributions ---------------------------------------


def test_tritonclient_grpc_defaults_score_a_mojo_with_contributions(mojo_server):
    with mojo_server.client() as http:
        schema = http.get("/model/schema").json()
        fields, rows = _mojo_rows()
        h2o = _h2o_scores(http, "", fields, rows)
        explained = http.post(
            "/model/contribution", json={"fields": fields, "rows": rows, "requestShapleyValueType": "TRANSFORMED"}
        ).json()
    client = triton_grpc.InferenceServerClient(mojo_server.grpc)
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("gbm_binomial")
    metadata = client.get_model_metadata("gbm_binomial")
    assert metadata.platform == "h2o3_mojo" and [o.name for o in metadata.outputs][-1] == "contributions"
    result = client.infer("gbm_binomial", _mojo_inputs(triton_grpc, schema), parameters={"shapley": "TRANSFORMED"})
    for column, name in enumerate(h2o["fields"]):
        np.testing.assert_array_equal(result.as_numpy(name), [float(r[column]) for r in h2o["score"]])
    contributions = result.as_numpy("contributions")
    expected = np.array(explained["contributionGroups"][0]["contributions"], dtype=np.float64)
    np.testing.assert_array_equal(contributions, expected)
    features = result.get_output("contributions").parameters["features"].string_param
    assert features.split(",") == explained["features"]


def test_tritonclient_http_scores_the_mojo_like_grpc(mojo_server):
    with mojo_server.client() as http:
        schema = http.get("/model/schema").json()
    rest = triton_http.InferenceServerClient(mojo_server.url.removeprefix("http://"))
    over_rest = rest.infer("gbm_binomial", _mojo_inputs(triton_http, schema), parameters={"shapley": "ORIGINAL"})
    over_grpc = triton_grpc.InferenceServerClient(mojo_server.grpc).infer(
        "gbm_binomial", _mojo_inputs(triton_grpc, schema), parameters={"shapley": "ORIGINAL"}
    )
    for name in ("contributions", *[o["name"] for o in over_rest.get_response()["outputs"]]):
        np.testing.assert_array_equal(over_rest.as_numpy(name), over_grpc.as_numpy(name))


def test_grpc_errors_are_status_codes_with_one_sentence(mojo_server):
    client = triton_grpc.InferenceServerClient(mojo_server.grpc)
    with pytest.raises(InferenceServerException) as unknown:
        client.get_model_metadata("nope")
    assert (
        unknown.value.status() == str(grpc.StatusCode.NOT_FOUND)
        and "There is no model 'nope'" in unknown.value.message()
    )
    tensor = triton_grpc.InferInput("nothing", [1], "FP64")
    tensor.set_data_from_numpy(np.array([1.0]))
    with pytest.raises(InferenceServerException) as invalid:
        client.infer("gbm_binomial", [tensor])
    assert invalid.value.status() == str(grpc.StatusCode.INVALID_ARGUMENT)
    assert "lacks the input tensor(s)" in invalid.value.message()
    assert client.is_server_ready()
    with mojo_server.client() as http:
        metrics = http.get("/metrics").text
    assert (
        'scorer_requests_total{deployment="",model="",route="grpc ModelInfer",status="INVALID_ARGUMENT"} 1.0' in metrics
    )
    assert 'scorer_requests_total{deployment="",model="",route="grpc ModelMetadata",status="NOT_FOUND"} 1.0' in metrics
    time.sleep(0.5)  # request lines are written within 0.2 s
    assert '"route":"grpc ModelInfer","status":"INVALID_ARGUMENT"' in mojo_server.log


# --- an MLflow model with one 2-D tensor, and the media model ----------------------------------


def test_a_2d_fp64_tensor_scores_an_mlflow_model_like_the_h2o_api(mlflow_server):
    rows = mlflow_server.features.head(40)
    body = {
        "inputs": [{"name": "input-0", "shape": list(rows.shape), "datatype": "FP64", "data": rows.to_numpy().tolist()}]
    }
    with mlflow_server.client() as http:
        answer = http.post("/v2/models/pump_eff_mlflow/infer", json=body)
        assert answer.status_code == 200, answer.text
        h2o = _h2o_scores(http, "", list(rows.columns), [[repr(v) for v in r] for r in rows.to_numpy().tolist()])
    (output,) = answer.json()["outputs"]
    assert output["name"] == h2o["fields"][0] == "pump_eff" and output["shape"] == [40]
    assert output["data"] == [float(r[0]) for r in h2o["score"]]
    tensor = triton_http.InferInput("input-0", list(rows.shape), "FP64")
    tensor.set_data_from_numpy(rows.to_numpy(dtype=np.float64))
    client = triton_http.InferenceServerClient(mlflow_server.url.removeprefix("http://"))
    np.testing.assert_array_equal(client.infer("pump_eff_mlflow", [tensor]).as_numpy("pump_eff"), output["data"])


def test_media_cells_are_raw_bytes(server_logs):
    server = start_server(DIGITS, server_logs)
    try:
        png = (REPO / "models" / "data" / "mnist" / "images" / "t10k_00000.png").read_bytes()
        client = triton_http.InferenceServerClient(server.url.removeprefix("http://"))
        tensor = triton_http.InferInput("image", [1], "BYTES")
        tensor.set_data_from_numpy(np.array([png], dtype=object))
        result = client.infer("digits", [tensor])
        with server.client() as http:
            h2o = _h2o_scores(http, "", ["image"], [[base64.b64encode(png).decode()]])
        for column, name in enumerate(h2o["fields"]):
            np.testing.assert_array_equal(result.as_numpy(name), [float(h2o["score"][0][column])])
        assert result.as_numpy("digit.7")[0] > 0.9
    finally:
        server.stop()


# --- the REST routes and every error path ----------------------------------------------------------


@pytest.mark.parametrize("base", ["", PREFIX])
def test_health_metadata_and_readiness_bodies(credit_server, base):
    with credit_server.client() as client:
        assert client.get(f"{base}/v2/health/live").json() == {"live": True}
        assert client.get(f"{base}/v2/health/ready").json() == {"ready": True}
        server = client.get(f"{base}/v2").json()
        assert server["name"] == "scoring-runtime" and "binary_tensor_data" in server["extensions"]
        for path in ("/v2/models/credit_gbm", "/v2/models/credit_gbm/versions/1"):
            metadata = client.get(base + path).json()
            assert metadata["platform"] == "pickle" and metadata["versions"] == ["1"]
            assert metadata["parameters"]["capabilities"] == ",".join(client.get("/model/capabilities").json())
            assert metadata["parameters"]["model_id"] == client.get("/model/id").text
            assert [t["name"] for t in metadata["inputs"]] == INPUTS
        assert client.get(f"{base}/v2/models/credit_gbm/ready").json() == {"name": "credit_gbm", "ready": True}


def _one_row(frame) -> dict:
    return {
        "inputs": [
            {"name": n, "shape": [1], "datatype": "BYTES" if n in CREDIT_CATEGORICAL else "FP64", "data": [str(v) if n in CREDIT_CATEGORICAL else float(v)]}
            for n, v in frame[INPUTS].iloc[0].items()
        ]
    }  # fmt: skip


def test_error_paths_answer_their_status_and_one_sentence(credit_server, credit_frame):
    good = _one_row(credit_frame)
    cases = [
        ("/v2/models/nope/infer", {"json": good}, 404, "There is no model 'nope'"),
        ("/v2/models/credit_gbm/versions/7/infer", {"json": good}, 404, "has no version '7'"),
        ("/v2/models/credit_gbm/infer", {"json": {"inputs": good["inputs"][1:]}}, 400, "lacks the input tensor(s) 'SEX'"),
        ("/v2/models/credit_gbm/infer", {"json": {"inputs": []}}, 400, "has no inputs"),
        ("/v2/models/credit_gbm/infer", {"json": {"id": "x"}}, 400, "missing the required field 'inputs'"),
        ("/v2/models/credit_gbm/infer", {"content": b"{", "headers": {"content-type": "application/json"}}, 400, "not valid JSON"),
        ("/v2/models/credit_gbm/infer", {"content": b"x", "headers": {"content-type": "text/plain"}}, 415, "not text/plain"),
        ("/v2/models/credit_gbm/infer", {"json": {**good, "parameters": {"prediction_intervals": True}}}, 400, "does not offer prediction intervals"),
        ("/v2/models/credit_gbm/infer", {"json": {**good, "parameters": {"shapley": "TRANSFORMED"}}}, 400, "does not offer TRANSFORMED"),
        ("/v2/models/credit_gbm/infer", {"json": {**good, "outputs": [{"name": "score"}]}}, 400, "asks for the output(s) 'score'"),
        ("/v2/models/credit_gbm/infer", {"content": b"{}", "headers": {"inference-header-content-length": "9"}}, 400, "the body has 2 bytes"),
        ("/v2/models/credit_gbm/infer", {"content": b"x" * 2_000_001, "headers": {"content-type": "application/json"}}, 413, "larger than the limit"),
        ("/v2/models/credit_gbm/infer", {"json": {"inputs": [{"name": "AGE", "shape": [5001], "datatype": "FP64", "data": [1.0] * 5001}]}}, 413, "at most 5000 are allowed"),
        ("/v2/models/nope", {}, 404, "There is no model 'nope'"),
        ("/v2/nowhere", {}, 404, "No such endpoint"),
    ]  # fmt: skip
    with credit_server.client() as client:
        for path, kwargs, status, fragment in cases:
            response = client.post(path, **kwargs) if kwargs else client.get(path)
            try:
                assert_error(response, status, fragment, key="error")
            except AssertionError as exc:
                raise AssertionError(f"{path} {kwargs and list(kwargs)}: {exc}") from None
        assert_error(client.get("/v2/models/credit_gbm/infer"), 405, "does not accept that method", key="error")
        assert client.post("/v2/models/credit_gbm/infer", json=good).status_code == 200


def test_auth_guards_every_v2_route_but_health_over_http_and_grpc(server_logs, pump_model):
    artifact, features = pump_model
    server = _grpc_server(artifact, server_logs, env={"SCORER_PASSPHRASE": "s3cret"})
    try:
        row = {
            "inputs": [
                {"name": "x", "shape": [1, features.shape[1]], "datatype": "FP64", "data": features.iloc[0].tolist()}
            ]
        }
        with server.client() as client:
            assert client.get("/v2/health/ready").json() == {"ready": True}
            assert_error(client.post("/v2/models/pump_eff/infer", json=row), 401, "Bearer", key="error")
            assert_error(client.get("/v2/models/pump_eff"), 401, "Bearer", key="error")
            authorized = client.post("/v2/models/pump_eff/infer", json=row, headers={"Authorization": "Bearer s3cret"})
            assert authorized.status_code == 200, authorized.text
        grpc_client = triton_grpc.InferenceServerClient(server.grpc)
        assert grpc_client.is_server_live()
        with pytest.raises(InferenceServerException) as refused:
            grpc_client.get_model_metadata("pump_eff")
        assert refused.value.status() == str(grpc.StatusCode.UNAUTHENTICATED)
        metadata = grpc_client.get_model_metadata("pump_eff", headers={"authorization": "Bearer s3cret"})
        assert metadata.name == "pump_eff"
    finally:
        server.stop()


# --- the kserve SDK's V2 REST client, from its own virtualenv ----------------------------------


def test_the_kserve_sdk_rest_client_scores_like_the_h2o_api(credit_server, credit_frame, tmp_path):
    """`InferenceRESTClient(RESTConfig(protocol="v2"))` with its defaults; scripts/install.sh
    installs it into .venvs/kserve (it pins other pandas and Starlette versions than ours)."""
    python = REPO / ".venvs" / "kserve" / "bin" / "python"
    sample = credit_frame.head(4)
    request = {
        "inputs": [
            {"name": n, "shape": [len(sample)], "datatype": "BYTES", "data": sample[n].astype(str).tolist()}
            if n in CREDIT_CATEGORICAL
            else {"name": n, "shape": [len(sample)], "datatype": "FP64", "data": sample[n].astype(float).tolist()}
            for n in INPUTS
        ]
    }
    (tmp_path / "request.json").write_text(json.dumps(request))
    script = REPO / "tests" / "clients" / "kserve_v2.py"
    run = subprocess.run(
        [str(python), str(script), credit_server.url, "credit_gbm", str(tmp_path / "request.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["live"] and report["ready"] and report["model_ready"]
    with credit_server.client() as http:
        h2o = _h2o_scores(http, "", INPUTS, sample[INPUTS].astype(str).to_numpy().tolist())
    for column, name in enumerate(h2o["fields"]):
        assert report["outputs"][name] == [float(row[column]) for row in h2o["score"]]
