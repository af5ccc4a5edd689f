"""Authentication, request ids and logs, limits and graceful shutdown on real server processes."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import bcrypt
import httpx
import joblib
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.http_assertions import assert_error
from tests.server_process import REPO, free_port, start_server
from tests.slow_model import SleepyRegressor

pytestmark = pytest.mark.integration

MODEL = REPO / "models" / "hydraulic" / "cool_cond_y.joblib"


@pytest.fixture(scope="module")
def sleepy_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("sleepy") / "sleepy.pkl"
    joblib.dump(SleepyRegressor(), path)
    return path


def _sleep_request(seconds: float, rows: int = 20) -> dict:
    return {"fields": ["seconds"], "rows": [[str(seconds)]] * rows}


@pytest.fixture(scope="module")
def passphrase_server(server_logs):
    hashed = bcrypt.hashpw(b"second secret", bcrypt.gensalt(rounds=4)).decode()
    server = start_server(
        MODEL, server_logs, env={"SCORER_PASSPHRASE": "first secret", "SCORER_PASSPHRASE_HASH": hashed}
    )
    yield server
    server.stop()


def test_probes_stay_open_and_scoring_needs_a_credential(passphrase_server):
    with passphrase_server.client() as client:
        assert client.get("/readyz").text == "Ready" and client.get("/livez").text == "OK"
        assert client.get("/metrics").status_code == 200
        missing = client.get("/model/sample_request")
        assert_error(missing, 401, "Authorization: Bearer")
        assert missing.headers["www-authenticate"] == "Bearer"
        assert_error(client.get("/model/schema", headers={"Authorization": "Bearer nope"}), 401, "not valid")
        assert_error(client.get("/model/schema", headers={"Authorization": "Basic Zmlyc3Q="}), 401)
        assert_error(client.get("/no/such/route"), 404)
        for secret in ("first secret", "second secret"):
            headers = {"Authorization": f"Bearer {secret}"}
            sample = client.get("/model/sample_request", headers=headers).json()
            assert client.post("/model/score", json=sample, headers=headers).status_code == 200


def test_metrics_can_require_a_credential(server_logs):
    server = start_server(MODEL, server_logs, env={"SCORER_PASSPHRASE": "p", "SCORER_METRICS_AUTH": "true"})
    try:
        with server.client() as client:
            assert_error(client.get("/metrics"), 401)
            assert client.get("/metrics", headers={"Authorization": "Bearer p"}).status_code == 200
            assert client.get("/readyz").status_code == 200
    finally:
        server.stop()


def test_oidc_tokens_over_http(server_logs, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1"}]}))
    issuer = "https://login.example.com"
    server = start_server(
        MODEL,
        server_logs,
        env={
            "SCORER_OIDC_ISSUER": issuer,
            "SCORER_OIDC_AUDIENCE": "scorer",
            "SCORER_OIDC_JWKS": str(tmp_path / "jwks.json"),
        },
    )
    now = int(time.time())

    def token(**claims: object) -> dict[str, str]:
        body = {"iss": issuer, "aud": "scorer", "exp": now + 60, **claims}
        return {"Authorization": "Bearer " + jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})}

    try:
        with server.client() as client:
            assert client.get("/model/id", headers=token()).status_code == 200
            assert_error(client.get("/model/id", headers=token(exp=now - 1)), 401)
            assert_error(client.get("/model/id", headers=token(aud="other")), 401)
    finally:
        server.stop()


def test_an_unusable_auth_setting_stops_the_server_at_start(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "scoring_runtime", "serve", str(MODEL), "--port", "0"],
        env={"SCORER_PASSPHRASE_HASH": "md5:abc", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 2 and "SCORER_PASSPHRASE_HASH must be" in result.stderr
    assert "Traceback" not in result.stderr


def test_request_ids_are_echoed_and_every_request_logs_one_json_line(server_logs):
    server = start_server(MODEL, server_logs)
    try:
        with server.client() as client:
            sample = client.get("/model/sample_request").json()
            given = client.post("/model/score", json=sample, headers={"x-request-id": "trace-123"})
            assert given.headers["x-request-id"] == "trace-123"
            marked = [["123.456789"] * len(sample["fields"])] * 3
            generated = client.post("/model/score", json={**sample, "rows": marked})
            assert len(generated.headers["x-request-id"]) == 32
    finally:
        server.stop()
    lines = [json.loads(line) for line in server.log.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["logger"] == "scorer.request"]
    traced = next(line for line in requests if line["request_id"] == "trace-123")
    assert traced["route"] == "/model/score" and traced["status"] == 200 and traced["rows"] == 1
    assert traced["duration_ms"] > 0 and "payload" not in traced
    assert any(line.get("rows") == 3 for line in requests)
    assert "123.456789" not in server.log


def test_a_refused_request_logs_its_reason_and_path(server_logs):
    server = start_server(MODEL, server_logs, env={"SCORER_MAX_BODY_BYTES": "1000"})
    try:
        with server.client() as client:
            refused = client.post(
                "/model/score", json={"fields": ["nope"], "rows": [["1"]]}, headers={"x-request-id": "bad-1"}
            )
            huge = client.post("/model/score", content=b"x" * 5000, headers={"x-request-id": "big-1"})
            assert refused.status_code == 400 and huge.status_code == 413
    finally:
        server.stop()
    lines = {
        line["request_id"]: line
        for line in (json.loads(text) for text in server.log.splitlines() if text.startswith("{"))
        if line.get("logger") == "scorer.request"
    }
    assert lines["bad-1"]["reason"] == refused.json()["detail"] and "path" not in lines["bad-1"]
    assert lines["big-1"]["reason"] == huge.json()["detail"] and lines["big-1"]["path"] == "/model/score"


def test_request_lines_reach_the_log_while_the_server_runs(server_logs):
    """Request lines are written in blocks, but within a fraction of a second, not at exit."""
    server = start_server(MODEL, server_logs)
    try:
        with server.client() as client:
            client.get("/model/id", headers={"x-request-id": "flushed-soon"})
        deadline = time.monotonic() + 3
        while '"flushed-soon"' not in server.log and time.monotonic() < deadline:
            time.sleep(0.05)
        assert '"flushed-soon"' in server.log
    finally:
        server.stop()


def test_payloads_are_logged_only_when_enabled(server_logs):
    server = start_server(MODEL, server_logs, env={"SCORER_LOG_PAYLOADS": "true"})
    try:
        with server.client() as client:
            client.post("/model/score", json={"fields": ["psa_bar"], "rows": [["marker-42"]]})
    finally:
        server.stop()
    assert "marker-42" in server.log


def test_a_slow_batch_gets_503_and_the_server_stays_ready(sleepy_model, server_logs):
    server = start_server(sleepy_model, server_logs, env={"SCORER_REQUEST_TIMEOUT": "0.5"})
    try:
        with server.client() as client:
            assert_error(client.post("/model/score", json=_sleep_request(2.0)), 503, "longer than the 0.5 s limit")
            assert client.post("/model/score", json=_sleep_request(0.0)).status_code == 200
            assert client.get("/readyz").text == "Ready"
    finally:
        server.stop()


def test_a_flood_is_shed_with_503_and_retry_after(sleepy_model, server_logs):
    env = {"SCORER_MAX_IN_FLIGHT": "2", "SCORER_SCORING_THREADS": "2", "SCORER_ADMISSION_WAIT": "0.3"}
    server = start_server(sleepy_model, server_logs, env=env)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            with ThreadPoolExecutor(max_workers=8) as pool:
                responses = list(pool.map(lambda _: client.post("/model/score", json=_sleep_request(1.0)), range(8)))
            statuses = sorted(r.status_code for r in responses)
            assert statuses.count(200) >= 2 and statuses.count(503) >= 4, statuses
            assert all(r.elapsed.total_seconds() >= 0.25 for r in responses if r.status_code == 503)
            shed = next(r for r in responses if r.status_code == 503)
            assert shed.headers["retry-after"] == "1"
            assert_error(shed, 503, "retry shortly")
            assert client.post("/model/score", json=_sleep_request(0.0)).status_code == 200
    finally:
        server.stop()


def _read_response(connection: socket.socket) -> str:
    """One whole HTTP response: its head and body may arrive in separate segments."""
    received = b""
    while b"\r\n\r\n" not in received or len(received.partition(b"\r\n\r\n")[2]) < _length(received):
        chunk = connection.recv(65536)
        if not chunk:
            break
        received += chunk
    return received.decode()


def _length(received: bytes) -> int:
    head = received.partition(b"\r\n\r\n")[0].decode().lower()
    return next((int(line.split(":", 1)[1]) for line in head.split("\r\n") if line.startswith("content-length:")), 0)


def test_a_request_past_the_limit_is_refused_before_its_body_is_read(sleepy_model, server_logs):
    """Headers announcing a 10 MB body, and no body: past the in-flight limit the answer comes
    once the admission wait is over, so a flood of refused requests costs no body reading or parsing."""
    env = {"SCORER_MAX_IN_FLIGHT": "1", "SCORER_ADMISSION_WAIT": "0.3"}
    server = start_server(sleepy_model, server_logs, env=env)
    try:
        busy = threading.Thread(
            target=lambda: httpx.post(f"{server.url}/model/score", json=_sleep_request(2.0), timeout=30)
        )
        busy.start()
        time.sleep(0.5)
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as connection:
            connection.sendall(
                b"POST /model/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 10000000\r\n\r\n"
            )
            started = time.monotonic()
            answer = _read_response(connection)
            waited = time.monotonic() - started
        busy.join()
        assert answer.startswith("HTTP/1.1 503"), answer
        assert "retry shortly" in answer and 0.25 < waited < 1.0
    finally:
        server.stop()


def test_a_request_past_the_limit_waits_for_a_place(sleepy_model, server_logs):
    server = start_server(sleepy_model, server_logs, env={"SCORER_MAX_IN_FLIGHT": "1", "SCORER_ADMISSION_WAIT": "5"})
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            calls = [
                pool.submit(httpx.post, f"{server.url}/model/score", json=_sleep_request(0.8), timeout=30)
                for _ in range(2)
            ]
            responses = [call.result() for call in calls]
        assert [r.status_code for r in responses] == [200, 200]
        assert max(r.elapsed.total_seconds() for r in responses) > 1.4  # the second waited for the first
    finally:
        server.stop()


def test_sigterm_drains_in_flight_requests(sleepy_model, server_logs):
    server = start_server(sleepy_model, server_logs)
    result: dict[str, httpx.Response] = {}

    def slow_call() -> None:
        result["response"] = httpx.post(f"{server.url}/model/score", json=_sleep_request(2.0), timeout=30)

    caller = threading.Thread(target=slow_call)
    caller.start()
    time.sleep(0.7)
    server.process.send_signal(signal.SIGTERM)
    caller.join(timeout=30)
    server.process.wait(timeout=30)
    assert result["response"].status_code == 200
    assert result["response"].json()["score"][0] == ["2.0"]


def test_a_drain_stops_grpc_at_once_and_still_answers_its_calls_in_flight(sleepy_model, server_logs):
    """While the drain waits for an HTTP request in flight, the gRPC service must stop taking calls,
    `ServerReady` among them (UNAVAILABLE: a client goes elsewhere), and still answer a call that
    was already running."""
    import numpy as np
    import tritonclient.grpc as triton_grpc
    from tritonclient.utils import InferenceServerException

    port = free_port()
    server = start_server(sleepy_model, server_logs, "--grpc-port", str(port))
    client = triton_grpc.InferenceServerClient(f"127.0.0.1:{port}")
    assert client.is_server_ready()
    answers: dict[str, object] = {}

    def http_call() -> None:
        answers["http"] = httpx.post(f"{server.url}/model/score", json=_sleep_request(3.0), timeout=30)

    def grpc_call() -> None:
        tensor = triton_grpc.InferInput("seconds", [20], "FP64")  # past SCORER_INLINE_ROWS: on a thread
        tensor.set_data_from_numpy(np.full(20, 1.5))
        answers["grpc"] = triton_grpc.InferenceServerClient(f"127.0.0.1:{port}").infer("sleepy", [tensor])

    callers = [threading.Thread(target=http_call), threading.Thread(target=grpc_call)]
    for caller in callers:
        caller.start()
    time.sleep(0.7)
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    signalled_ready = time.monotonic()
    with pytest.raises(InferenceServerException, match="UNAVAILABLE"):
        client.is_server_ready()
    assert time.monotonic() - signalled_ready < 1.5  # refused, not left waiting for the drain
    for caller in callers:
        caller.join(timeout=30)
    assert server.process.wait(timeout=30) == 0
    assert answers["http"].status_code == 200
    assert answers["grpc"].as_numpy("target").tolist() == [1.5] * 20
