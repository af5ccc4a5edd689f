"""The bundled MLflow digit model over real HTTP: the h2o_mlops client's multipart form, base64
cells, test-time augmentation, and bad media."""

from __future__ import annotations

import base64
import json
import mimetypes
import os

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest

from scoring_runtime.core.images import augment
from tests.http_assertions import assert_error
from tests.server_process import REPO, start_server

pytestmark = pytest.mark.integration

DIGITS = REPO / "models" / "digits"
IMAGES = REPO / "models" / "data" / "mnist" / "images"
NAMES = ["t10k_00003.png", "t10k_00002.png", "t10k_00001.png"]


@pytest.fixture(scope="module")
def digits_server(server_logs):
    server = start_server(DIGITS, server_logs)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def own_predictions() -> np.ndarray:
    table = pd.DataFrame({"image": [(IMAGES / n).read_bytes() for n in NAMES]})
    return mlflow.pyfunc.load_model(str(DIGITS)).predict(table).to_numpy()


def _score_media(client, payload: dict, file_paths: list) -> object:
    """What the h2o_mlops client's score_media sends: a JSON string part and `files` parts."""
    data = {"scoreMediaRequest": json.dumps(payload)}
    files = []
    for path in file_paths:
        filename = os.path.basename(path)
        mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        files.append(("files", (filename, open(path, "rb"), mime)))  # noqa: SIM115 - closed by httpx
    return client.post("/model/media-score", data=data, files=files)


def test_media_model_endpoints(digits_server):
    with digits_server.client() as client:
        assert client.get("/readyz").text == "Ready"  # the self-check scored the model's own example
        assert client.get("/model/capabilities").json() == ["MEDIA", "SCORE", "TEST_TIME_AUGMENTATION"]
        sample = client.get("/model/sample_request").json()
        assert sample["fields"] == ["image"]
        assert base64.b64decode(sample["rows"][0][0]) == (IMAGES / "t10k_00000.png").read_bytes()
        answer = client.post("/model/score", json=sample).json()
        assert np.argmax([float(v) for v in answer["score"][0]]) == 7  # the example image is a 7
        schema = client.get("/model/schema").json()
        assert schema["properties"]["scoringType"] == "CLASSIFICATION"
        assert "media fields: image" in schema["description"]


def test_score_media_form_and_base64_agree_with_the_model(digits_server, own_predictions):
    payload = {"fields": ["id", "image"], "rows": [[str(i), n] for i, n in enumerate(NAMES)], "mediaFields": ["image"],
               "includeFieldsInOutput": ["id"]}  # fmt: skip
    with digits_server.client() as client:
        multipart = _score_media(client, payload, [IMAGES / n for n in NAMES])
        assert multipart.status_code == 200, multipart.text
        body = multipart.json()
        assert body["fields"] == ["id", *[f"digit.{d}" for d in range(10)]]
        assert [row[0] for row in body["score"]] == ["0", "1", "2"]
        got = np.array([row[1:] for row in body["score"]], dtype=float)
        assert np.abs(got - own_predictions).max() <= 1e-9
        rows = [[base64.b64encode((IMAGES / n).read_bytes()).decode()] for n in NAMES]
        as_json = client.post("/model/score", json={"fields": ["image"], "rows": rows}).json()
        assert np.abs(np.array(as_json["score"], dtype=float) - own_predictions).max() <= 1e-9


def test_test_time_augmentation_averages_the_declared_augmentations(digits_server):
    model = mlflow.pyfunc.load_model(str(DIGITS))
    declared = model.metadata.metadata["scorer"]["test_time_augmentation"]
    blob = (IMAGES / NAMES[0]).read_bytes()
    expected = np.mean(
        [model.predict(pd.DataFrame({"image": [augment(blob, name)]})).to_numpy()[0] for name in declared], axis=0
    )
    request = {"fields": ["image"], "rows": [[base64.b64encode(blob).decode()]], "requestTestTimeAugmentation": True}
    with digits_server.client() as client:
        body = client.post("/model/score", json=request).json()
    assert np.abs(np.array(body["score"][0], dtype=float) - expected).max() <= 1e-9


def test_bad_media_requests_get_4xx(digits_server, tmp_path):
    (tmp_path / "note.txt").write_text("not an image")
    payload = {"fields": ["image"], "rows": [["note.txt"]], "mediaFields": ["image"]}
    with digits_server.client() as client:
        assert_error(_score_media(client, payload, [tmp_path / "note.txt"]), 400, "in row 0 is not a readable image")
        missing = {**payload, "rows": [["absent.png"]]}
        assert_error(_score_media(client, missing, [IMAGES / NAMES[0]]), 400, "'absent.png', which was not uploaded")
        empty = {**payload, "rows": [[""]]}
        assert_error(_score_media(client, empty, []), 400, "is empty; this model needs an image")
        assert_error(
            client.post("/model/score", json={"fields": ["image"], "rows": [["@@@"]]}), 400, "not valid base64"
        )
        big = {"fields": ["image"], "rows": [["big.png"]], "mediaFields": ["image"]}
        (tmp_path / "big.png").write_bytes(b"\x89PNG" + b"\0" * 17_000_000)
        assert _score_media(client, big, [tmp_path / "big.png"]).status_code == 413
        assert client.get("/readyz").text == "Ready"
