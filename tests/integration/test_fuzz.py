"""Fuzzing a real server: schemathesis from the app's own OpenAPI, and a corpus of hostile inputs.

Every answer must be below 500, and every error body exactly `{"detail": "<string>"}` (`{"error": …}`
on the Open Inference Protocol's routes, `{"error_code", "message"}` on MLflow's).
"""

from __future__ import annotations

import itertools
import json
from urllib.parse import urlsplit

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from tests.http_assertions import assert_error
from tests.server_process import REPO, start_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MODEL = REPO / "models" / "airlines" / "distance.zip"
EXAMPLES_PER_OPERATION = 130


@pytest.fixture(scope="module")
def fuzz_server(server_logs, tmp_path_factory):
    score_dir = tmp_path_factory.mktemp("fuzz-files")
    (score_dir / "ok.csv").write_text("Origin,Dest\nSFO,LAX\n")
    server = start_server(MODEL, server_logs, env={"SCORER_SCORE_FILE_DIR": str(score_dir)})
    yield server
    server.stop()


def _assert_well_formed(response: httpx.Response | object) -> None:
    status = response.status_code
    assert status < 500, (status, response.text)
    if status >= 400:
        body = json.loads(response.text)
        path = urlsplit(str(response.request.url)).path
        if path in ("/invocations", "/ping", "/health", "/version"):  # MLflow's shape
            assert isinstance(body, dict) and sorted(body) == ["error_code", "message"], body
            assert isinstance(body["message"], str) and "\n" not in body["message"], body
            return
        key = "error" if path.startswith("/v2") else "detail"
        assert isinstance(body, dict) and list(body) == [key] and isinstance(body[key], str), body


def test_generated_requests_never_fail_the_server(fuzz_server):
    """schemathesis generates valid and invalid requests from the server's own OpenAPI for every
    operation; driven directly (one Hypothesis run per operation and mode) because its pytest
    plugin does not run on pytest 9."""
    schema = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")
    calls = 0

    operations = [result.ok() for result in schema.get_all_operations()]
    for operation, mode in itertools.product(operations, schemathesis.GenerationMode):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: schemathesis.Case) -> None:
            nonlocal calls
            _assert_well_formed(case.call(timeout=30))
            calls += 1

        try:
            run()
        except Unsatisfiable:  # negative mode on an operation with nothing to make invalid
            assert mode is schemathesis.GenerationMode.NEGATIVE and not operation.body and not operation.query
    assert calls >= 1000, calls
    with fuzz_server.client() as client:
        assert client.get("/readyz").text == "Ready"


def _json(content: bytes) -> dict:
    return {"content": content, "headers": {"content-type": "application/json"}}


def _hostile_cases(sample: dict) -> list[tuple[str, dict, int, str]]:
    fields, row = sample["fields"], sample["rows"][0]
    wide = {"fields": fields, "rows": [["1"] * 1_000_000]}
    boundary = "XyZ"
    truncated = (f'--{boundary}\r\nContent-Disposition: form-data; name="scoreMediaRequest"\r\n\r\n{{"fields"').encode()
    return [
        ("deep nesting", _json(b"[" * 100_000 + b"]" * 100_000), 400, "not valid JSON"),
        ("deep nesting in a cell", {"json": {"fields": fields, "rows": [[[[[["x"]]]], *row[1:]]]}}, 400, "holds a JSON array"),
        ("a row of a million values", {"json": wide}, 400, "row 0 has 1000000 values"),
        ("a million fields", {"json": {"fields": [f"c{i}" for i in range(1_000_000)], "rows": [["1"]]}}, 400, "lacks the model input field"),
        # 1e400 reads as Infinity; in this model's categorical fields that is an unseen level, so missing
        ("huge number literal", _json(json.dumps({"fields": fields, "rows": [row]}).replace(f'"{row[0]}"', "1e400", 1).encode()), 200, ""),
        ("NaN and Infinity literals", _json(b'{"fields": ["a", "b"], "rows": [[NaN, Infinity]]}'), 400, "lacks the model input field"),
        ("invalid UTF-8", _json(b'{"fields": ["\xc3\x28"], "rows": [["\xff\xfe"]]}'), 400, "not valid JSON"),
        ("duplicate keys, last wins", _json(b'{"rows": 1, "fields": [], ' + json.dumps(sample)[1:].encode()), 200, ""),
        ("text/plain", {"content": json.dumps(sample).encode(), "headers": {"content-type": "text/plain"}}, 415, "must be JSON"),
        ("XML", {"content": b"<score/>", "headers": {"content-type": "application/xml"}}, 415, "must be JSON"),
        ("a JSON string", _json(b'"fields"'), 400, "must be a JSON object"),
        ("null body", _json(b"null"), 400, "must be a JSON object"),
        ("number fields", {"json": {"fields": 7, "rows": [row]}}, 400, "'fields' is not valid"),
        ("truncated multipart", {"content": truncated, "headers": {"content-type": f"multipart/form-data; boundary={boundary}"}}, 400, ""),
        ("multipart without boundary", {"content": b"--x--", "headers": {"content-type": "multipart/form-data"}}, 400, ""),
    ]  # fmt: skip


def test_hostile_inputs_get_their_4xx(fuzz_server):
    with fuzz_server.client() as client:
        sample = client.get("/model/sample_request").json()
        for name, kwargs, status, fragment in _hostile_cases(sample):
            path = "/model/media-score" if "multipart" in name else "/model/score"
            response = client.post(path, **kwargs)
            try:
                if status == 200:
                    assert response.status_code == 200, response.text
                else:
                    assert_error(response, status, fragment)
            except AssertionError as exc:
                raise AssertionError(f"case {name!r}: {exc}") from None
        assert client.get("/readyz").text == "Ready"
        assert client.post("/model/score", json=sample).status_code == 200
