"""API.md, line by line, against real `scorer serve` processes over real HTTP."""

from __future__ import annotations

import base64
import json
import re
import struct
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor

import httpx
import joblib
import numpy as np
import pytest

from tests.http_assertions import assert_error
from tests.media_model import PngWidthRegressor
from tests.model_builders import CREDIT_CATEGORICAL, CREDIT_NUMERIC, CREDIT_TARGET
from tests.server_process import REPO, start_server
from tests.slow_model import SleepyRegressor

pytestmark = pytest.mark.integration

PREFIX = "/0b7cf4f2-5c5e-4ad5-9b53-1f0b2b3f0a11"
INPUTS = CREDIT_CATEGORICAL + CREDIT_NUMERIC


def _credit_request(frame, **extra) -> dict:
    fields = ["ID", "LIMIT_BAL_note", *reversed(INPUTS)]
    frame = frame.assign(LIMIT_BAL_note="extra field")
    return {"fields": fields, "rows": frame[fields].astype(str).to_numpy().tolist(), **extra}


# --- a scikit-learn pipeline under a path prefix ------------------------------------------------


def test_pipeline_scores_equal_predict_proba_over_http(credit_server, credit_model, credit_frame):
    sample = credit_frame.sample(1000, random_state=7)
    with credit_server.client() as client:
        response = client.post(f"{PREFIX}/model/score", json=_credit_request(sample))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["fields"] == [f"{CREDIT_TARGET}.0", f"{CREDIT_TARGET}.1"]
    got = np.array(body["score"], dtype=float)
    expected = joblib.load(credit_model).predict_proba(sample[INPUTS])
    assert np.abs(got - expected).max() <= 1e-9


@pytest.mark.parametrize("base", ["", PREFIX])
def test_every_route_answers_at_the_root_and_under_the_prefix(credit_server, base):
    with credit_server.client() as client:
        assert client.get(f"{base}/readyz").text == "Ready"
        assert client.get(f"{base}/livez").text == "OK"
        assert client.get(f"{base}/model/id").status_code == 200
        assert client.get(f"{base}/model/capabilities").json() == ["CONTRIBUTION_ORIGINAL", "SCORE"]
        assert client.get(f"{base}/model/schema").json()["properties"]["scoringType"] == "BINOMIAL"
        sample = client.get(f"{base}/model/sample_request").json()
        assert sample["rows"][0][:3] == ["1", "0", "0"]  # first known levels of SEX, EDUCATION, MARRIAGE
        assert client.post(f"{base}/model/score", json=sample).status_code == 200
        assert "scorer_requests_total" in client.get(f"{base}/metrics").text


def test_include_fields_and_generated_ids(credit_server, credit_frame):
    request = _credit_request(credit_frame.head(4), includeFieldsInOutput=["rid", "SEX", "ID"], idField="rid")
    request["rows"][0][request["fields"].index("SEX")] = None
    with credit_server.client() as client:
        body = client.post("/model/score", json=request).json()
        quiet = client.post("/model/score", json={**request, "noFieldNamesInOutput": True}).json()
    assert body["fields"] == ["ID", "SEX", "rid", f"{CREDIT_TARGET}.0", f"{CREDIT_TARGET}.1"]
    assert [row[0] for row in body["score"]] == credit_frame.head(4)["ID"].astype(str).tolist()
    assert body["score"][0][1] == ""
    assert len({row[2] for row in body["score"]}) == 4
    assert "fields" not in quiet and len(quiet["score"][0]) == 5


def test_missing_values_and_unseen_levels_are_scored(credit_server, credit_frame):
    request = _credit_request(credit_frame.head(3))
    fields = request["fields"]
    request["rows"][0][fields.index("AGE")] = "NA"
    request["rows"][1][fields.index("EDUCATION")] = "a level never seen"
    request["rows"][2][fields.index("LIMIT_BAL")] = None
    with credit_server.client() as client:
        response = client.post("/model/score", json=request)
    assert response.status_code == 200, response.text


def test_json_numbers_booleans_and_null_are_read_as_text(credit_server, credit_frame):
    row = credit_frame.iloc[0]
    as_numbers = {"fields": INPUTS, "rows": [[int(row[c]) if c in CREDIT_NUMERIC else str(row[c]) for c in INPUTS]]}
    as_text = {"fields": INPUTS, "rows": [[str(row[c]) for c in INPUTS]]}
    with credit_server.client() as client:
        assert client.post("/model/score", json=as_numbers).json() == client.post("/model/score", json=as_text).json()


def test_score_by_file_stays_in_its_directory(credit_server, credit_frame, tmp_path):
    sample = credit_frame.head(5)
    sample[INPUTS].to_csv(credit_server.score_dir / "batch.csv", index=False)
    (tmp_path / "secret.csv").write_text("a\n1\n")
    (credit_server.score_dir / "link.csv").symlink_to(tmp_path / "secret.csv")
    with credit_server.client() as client:
        body = client.get(f"{PREFIX}/model/score", params={"file": "batch.csv"}).json()
        assert len(body["score"]) == 5
        for name in ("../secret.csv", str(tmp_path / "secret.csv"), "link.csv"):
            assert_error(client.get("/model/score", params={"file": name}), 400, "outside the score-file directory")
        assert_error(client.get("/model/score", params={"file": "absent.csv"}), 404, "no file 'absent.csv'")
        assert_error(client.get("/model/score"), 400, "'file' query parameter")


def _error_cases(sample: dict) -> list[tuple[str, dict, int, str]]:
    fields, row = sample["fields"], sample["rows"][0]
    json_post = {"headers": {"content-type": "application/json"}}
    return [
        ("malformed JSON", {"content": b'{"fields": [', **json_post}, 400, "not valid JSON"),
        ("invalid UTF-8", {"content": b'{"fields": ["\xff"]}', **json_post}, 400, "not valid JSON"),
        ("not an object", {"json": [1, 2]}, 400, "must be a JSON object"),
        ("missing fields", {"json": {"rows": [row]}}, 400, "missing the required field 'fields'"),
        ("missing rows", {"json": {"fields": fields}}, 400, "missing the required field 'rows'"),
        ("empty fields", {"json": {"fields": [], "rows": [row]}}, 400, "'fields' is empty"),
        ("empty rows", {"json": {"fields": fields, "rows": []}}, 400, "'rows' is empty"),
        ("duplicate", {"json": {"fields": [*fields, "SEX"], "rows": [[*row, "1"]]}}, 400, "'SEX' more than once"),
        ("short row", {"json": {"fields": fields, "rows": [row, row[:-1]]}}, 400, "row 1 has 10 values"),
        ("missing input", {"json": {"fields": fields[1:], "rows": [row[1:]]}}, 400, "lacks the model input field(s) 'SEX'"),
        ("bad number", {"json": {"fields": fields, "rows": [row, [*row[:-1], "12abc"]]}}, 400, "Field 'PAY_AMT2' in row 1"),
        ("nested value", {"json": {"fields": fields, "rows": [[*row[:-1], {"a": 1}]]}}, 400, "holds a JSON object"),
        ("rows not lists", {"json": {"fields": fields, "rows": ["abc"]}}, 400, "'rows[0]' is not valid"),
        ("shapley not offered", {"json": {**sample, "requestShapleyValueType": "TRANSFORMED"}}, 400, "it supports ORIGINAL"),
        ("intervals unsupported", {"json": {**sample, "requestPredictionIntervals": True}}, 400, "prediction intervals"),
        ("unknown enum", {"json": {**sample, "requestShapleyValueType": "ALL"}}, 400, "'requestShapleyValueType' must be one of"),
        ("unknown include", {"json": {**sample, "includeFieldsInOutput": ["nope"]}}, 400, "'nope'"),
        ("not JSON", {"content": b"a=1", "headers": {"content-type": "application/x-www-form-urlencoded"}}, 415, "must be JSON"),
        ("empty body", {"content": b"", **json_post}, 400, "body is empty"),
    ]  # fmt: skip


def test_every_error_row_gets_its_status_and_one_sentence(credit_server):
    with credit_server.client() as client:
        sample = client.get("/model/sample_request").json()
        for name, kwargs, status, fragment in _error_cases(sample):
            response = client.post("/model/score", **kwargs)
            try:
                assert_error(response, status, fragment)
            except AssertionError as exc:
                raise AssertionError(f"case {name!r}: {exc}") from None
            assert client.get("/readyz").text == "Ready"


def test_contribution_errors(credit_server):
    with credit_server.client() as client:
        sample = client.get("/model/sample_request").json()
        assert_error(client.post("/model/contribution", json=sample), 400, "'requestShapleyValueType'")
        assert_error(
            client.post("/model/contribution", json={**sample, "requestShapleyValueType": "NONE"}),
            400,
            "must be ORIGINAL or TRANSFORMED",
        )
        assert_error(
            client.post("/model/contribution", json={**sample, "requestShapleyValueType": "TRANSFORMED"}),
            400,
            "does not offer TRANSFORMED Shapley values; it supports ORIGINAL",
        )
        assert_error(client.post("/model/media-score", files={"files": ("a.png", b"x")}), 400, "no media inputs")


def test_contributions_on_both_routes_add_up_to_the_log_odds(credit_server, credit_model, credit_frame):
    sample = credit_frame.head(25)
    request = _credit_request(sample, requestShapleyValueType="ORIGINAL")
    margin = joblib.load(credit_model).decision_function(sample[INPUTS])
    with credit_server.client() as client:
        scored = client.post("/model/score", json=request).json()
        direct = client.post("/model/contribution", json=request).json()
    assert scored["featureShapleyContributions"] == direct
    assert direct["features"] == [*(f"contrib_{c}" for c in INPUTS), "contrib_bias"]
    (group,) = direct["contributionGroups"]
    assert "outputGroup" not in group
    totals = np.array(group["contributions"], dtype=float).sum(axis=1)
    assert np.abs(totals - margin).max() <= 1e-5


def test_http_level_errors(credit_server):
    with credit_server.client() as client:
        assert_error(client.get("/no/such/path"), 404, "No such endpoint")
        assert_error(client.get(f"{PREFIX}/no/such/path"), 404)
        deleted = client.delete("/model/score")
        assert_error(deleted, 405)
        assert deleted.headers["allow"] == "GET, POST"  # both routes at the path
        posted = client.post("/model/schema")
        assert_error(posted, 405)
        assert posted.headers["allow"] == "GET"
        too_big = b'{"fields": ["a"], "rows": [["' + b"x" * 2_000_000 + b'"]]}'
        assert_error(client.post("/model/score", content=too_big, headers={"content-type": "application/json"}), 413)

        def chunks():
            yield b'{"fields": ["a"], "rows": [["'
            for _ in range(30):
                yield b"x" * 100_000
            yield b'"]]}'

        chunked = client.post("/model/score", content=chunks(), headers={"content-type": "application/json"})
        assert_error(chunked, 413, "larger than the limit")
        sample = client.get("/model/sample_request").json()
        assert_error(client.post("/model/score", json={**sample, "rows": sample["rows"] * 5001}), 413, "5001 rows")
        assert client.get("/readyz").text == "Ready"


def test_openapi_documents_the_camel_case_wire_names(credit_server):
    with credit_server.client() as client:
        spec = client.get("/openapi.json").json()
    body = spec["paths"]["/model/score"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    for name in ("fields", "rows", "includeFieldsInOutput", "idField", "noFieldNamesInOutput",
                 "requestShapleyValueType", "requestPredictionIntervals"):  # fmt: skip
        assert name in body["properties"]
    assert "featureShapleyContributions" in json.dumps(spec["components"])


def test_every_operation_is_documented_and_try_it_out_examples_score(credit_server):
    """Summaries and descriptions written for people, no 422 the API never sends, and each
    scoring operation's example — the loaded model's own sample — answered 200 as sent."""
    with credit_server.client() as client:
        spec = client.get("/openapi.json").json()
        name = client.post("/v2/repository/index").json()[0]["name"]
        assert "HTTPValidationError" not in json.dumps(spec)
        examples = 0
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                assert operation.get("summary") and operation.get("description"), (method, path)
                assert "422" not in operation["responses"], (method, path)
                example = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("example")
                if example is not None:
                    answer = client.request(method, path.replace("{model_name}", name), json=example)
                    assert answer.status_code == 200, (path, answer.text)
                    examples += 1
        assert examples == 4  # score, contribution, V2 infer, MLflow invocations


def test_docs_work_offline_at_the_root_and_under_the_prefix(credit_server):
    """Swagger UI and ReDoc: every script, style and icon from this server, none from a CDN."""
    with credit_server.client() as client:
        for prefix in ("", PREFIX):
            for page in ("docs", "redoc"):
                html = client.get(f"{prefix}/{page}").text
                assert f"{prefix}/openapi.json" in html and "https://" not in html, html
                assets = re.findall(r'(?:src|href)="([^"]+)"', html)
                assert len(assets) >= 2
                for asset in assets:
                    assert asset.startswith(f"{prefix}/docs-assets/") and client.get(asset).status_code == 200
            assert client.get(f"{prefix}/openapi.json").json()["info"]["title"] == "Scoring runtime"


def test_concurrent_requests_interleaved_with_garbage_all_succeed(credit_server, credit_frame):
    good = _credit_request(credit_frame.sample(50, random_state=11))
    garbage = [
        {"content": b"\x00\xff{{{", "headers": {"content-type": "application/json"}},
        {"json": {"fields": ["SEX"], "rows": [["1"]]}},
        {"json": {**good, "rows": [["x"] * len(good["fields"])]}},
        {"content": b"<xml/>", "headers": {"content-type": "text/xml"}},
    ]
    with httpx.Client(base_url=credit_server.url, timeout=60) as client:
        expected = client.post("/model/score", json=good).json()["score"]

        def one(i: int) -> tuple[bool, int]:
            if i % 2:
                response = client.post("/model/score", **garbage[i // 2 % len(garbage)])
                return response.status_code in (400, 415), response.status_code
            response = client.post(f"{PREFIX}/model/score", json=good)
            return response.status_code == 200 and response.json()["score"] == expected, response.status_code

        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(one, range(128)))
        assert all(ok for ok, _ in results), results
        assert client.get("/readyz").text == "Ready"


# --- media, start-up failures, several workers -------------------------------------------------


def _png(width: int, height: int = 1) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\x00" * width for _ in range(height)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def media_server(tmp_path_factory, server_logs):
    folder = tmp_path_factory.mktemp("media")
    joblib.dump(PngWidthRegressor(), folder / "png_width.pkl")
    (folder / "png_width.pkl.schema.json").write_text(
        json.dumps(
            {
                "inputFields": [{"name": "image", "dataType": "Str"}, {"name": "scale", "dataType": "Float64"}],
                "targetFields": [{"name": "width", "dataType": "Float64"}],
                "mediaFields": ["image"],
            }
        )
    )
    server = start_server(folder / "png_width.pkl", server_logs)
    yield server
    server.stop()


def test_media_score_multipart_and_base64_agree(media_server):
    images = {"a.png": _png(7), "b.png": _png(12)}
    request = {"fields": ["image", "scale"], "rows": [["a.png", "1"], ["b.png", "2"]], "mediaFields": ["image"]}
    with media_server.client() as client:
        assert client.get("/readyz").text == "Ready"
        assert client.get("/model/capabilities").json() == ["MEDIA", "SCORE"]
        assert client.get("/model/sample_request").json()["rows"] == [["", "0"]]
        files = [("files", (name, content, "image/png")) for name, content in images.items()]
        multipart = client.post("/model/media-score", data={"scoreMediaRequest": json.dumps(request)}, files=files)
        assert multipart.status_code == 200, multipart.text
        assert multipart.json()["score"] == [["7.0"], ["24.0"]]
        snake = {**request, "media_fields": request.pop("mediaFields")}
        again = client.post("/model/media-score", data={"scoreMediaRequest": json.dumps(snake)}, files=files)
        assert again.json()["score"] == multipart.json()["score"]
        encoded = [[base64.b64encode(images[name]).decode(), scale] for name, scale in request["rows"]]
        as_json = client.post("/model/score", json={"fields": ["image", "scale"], "rows": encoded})
        assert as_json.json()["score"] == multipart.json()["score"]


def test_media_errors(media_server):
    request = {"fields": ["image", "scale"], "rows": [["missing.png", "1"]], "mediaFields": ["image"]}
    with media_server.client() as client:
        files = [("files", ("a.png", _png(3), "image/png"))]
        no_file = client.post("/model/media-score", data={"scoreMediaRequest": json.dumps(request)}, files=files)
        assert_error(no_file, 400, "names the file 'missing.png', which was not uploaded")
        assert_error(client.post("/model/media-score", files=files), 400, "no 'scoreMediaRequest' part")
        assert_error(client.post("/model/media-score", json=request), 415, "multipart/form-data")
        bad_json = client.post("/model/media-score", data={"scoreMediaRequest": "{"}, files=files)
        assert_error(bad_json, 400, "not valid JSON")
        bad_b64 = client.post("/model/score", json={"fields": ["image", "scale"], "rows": [["%%%", "1"]]})
        assert_error(bad_b64, 400, "Media field 'image' in row 0 is not valid base64")
        assert client.get("/readyz").text == "Ready"


def test_a_model_failure_is_a_500_sentence_and_harms_no_later_request(tmp_path, server_logs):
    artifact = tmp_path / "sleepy.pkl"
    joblib.dump(SleepyRegressor(), artifact)
    server = start_server(artifact, server_logs)
    try:
        good = {"fields": ["seconds"], "rows": [["0"]]}
        bad = {"fields": ["seconds"], "rows": [["-1"]]}  # time.sleep raises: the model's own failure
        with server.client() as client:
            assert_error(client.post("/model/score", json=bad), 500, "The model failed to score this request")
            assert client.post("/model/score", json=good).status_code == 200
            assert client.get("/readyz").text == "Ready"
        assert "Traceback" in server.log  # the server logs what the client is not shown
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"definitely not a pickle", "is not a pickle this server can read"), (None, "does not exist")],
)
def test_unusable_model_exits_non_zero_at_start_with_one_sentence(tmp_path, content, fragment):
    artifact = tmp_path / "broken.pkl"
    if content is not None:
        artifact.write_bytes(content)
    for workers in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-m", "scoring_runtime", "serve", str(artifact), "--port", "0", "--workers", workers],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result
        assert fragment in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_several_workers_serve_and_sum_their_metrics(credit_model, server_logs, credit_frame):
    server = start_server(credit_model, server_logs, "--workers", "2", env={"MODEL_ID": "credit-v1"})
    try:
        with server.client() as client:
            assert client.get("/model/id").text == "credit-v1"
            request = _credit_request(credit_frame.head(2))
            for _ in range(20):
                assert client.post("/model/score", json=request).status_code == 200
            text = client.get("/metrics").text
        total = float(re.search(r"^scorer_rows_scored_total\{[^}]*\} (\S+)$", text, re.M).group(1))
        assert total == 40
    finally:
        server.stop()


def test_sigterm_stops_the_server_cleanly(credit_model, server_logs):
    server = start_server(credit_model, server_logs)
    assert server.stop() in (0, -15)  # uvicorn re-raises SIGTERM once it has shut down gracefully
    assert "Finished server process" in server.log and "Traceback" not in server.log
