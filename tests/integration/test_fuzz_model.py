"""Model-aware fuzzing that reaches scoring: request bodies generated from the served model's own
schema (its fields, levels and types, and its sample request), mixed with the texts a real client
gets wrong, on the H2O API and on V2. schemathesis (test_fuzz.py) fuzzes the OpenAPI documents,
but a random body there almost never names the model's fields, so none of it reaches a model.

Every answer is below 500, every error the protocol's one-sentence shape, and a fair share is
scored (200), so the model itself is fuzzed and not only the request checks.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.test_fuzz import _assert_well_formed
from tests.server_process import REPO, start_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MODEL = REPO / "models" / "airlines" / "distance.zip"
CASES = 5_000
"""Per protocol: the H2O API's two scoring routes share them."""
TRICKY_TEXTS = [
    "", "NA", "NaN", "nan", "None", "N/A", "Infinity", "-Infinity", "inf", "1e999", "-0", "1_000", " 12",
    "\u0661\u0662", "0x10", "\u00e9", "\x00", "a" * 300, "12.5", "-3", "1E5", ".5",
]  # fmt: skip
FUZZ = settings(
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


@pytest.fixture(scope="module")
def server(server_logs):
    server = start_server(MODEL, server_logs)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(server):
    with server.client() as client:
        yield client


def _cell(field: dict[str, Any], sample: str) -> st.SearchStrategy[Any]:
    """A cell for this field: mostly plausible (its sample, a level, a number), sometimes wrong."""
    plausible = [st.just(sample), st.floats(allow_nan=False, allow_infinity=False).map(repr)]
    if field.get("levels"):
        plausible.append(st.sampled_from(field["levels"]))
    wrong = st.one_of(
        st.sampled_from(TRICKY_TEXTS), st.text(max_size=8), st.integers(), st.floats(), st.booleans(), st.none()
    )
    return st.one_of(st.one_of(plausible), st.one_of(plausible), st.one_of(plausible), wrong)


@st.composite
def h2o_bodies(
    draw: st.DrawFn, fields: list[dict[str, Any]], sample: list[str], explain: bool = False
) -> dict[str, Any]:
    names = [f["name"] for f in fields]
    if draw(st.integers(0, 9)) == 0:  # a field dropped, added or repeated
        names = draw(st.lists(st.sampled_from([*names, "extra"]), min_size=1, max_size=len(names) + 2))
    by_name = {f["name"]: (f, s) for f, s in zip(fields, sample, strict=True)}
    cell = {n: _cell(*by_name[n]) if n in by_name else st.text(max_size=4) for n in names}
    rows = draw(st.lists(st.tuples(*(cell[n] for n in names)).map(list), min_size=0, max_size=5))
    if rows and draw(st.integers(0, 19)) == 0:  # a row of the wrong length
        rows[0] = rows[0][:-1]
    body: dict[str, Any] = {"fields": names, "rows": rows}
    if draw(st.booleans()):
        body["includeFieldsInOutput"] = draw(st.lists(st.sampled_from([*names, "nope"]), max_size=3))
    if explain or draw(st.integers(0, 3)) == 0:
        kinds = ["ORIGINAL", "TRANSFORMED"] * 3 + ["NONE", "BOTH", 3]
        body["requestShapleyValueType"] = draw(st.sampled_from(kinds))
    if draw(st.integers(0, 5)) == 0:
        body["requestPredictionIntervals"] = draw(st.sampled_from([True, False, "yes"]))
    return body


@st.composite
def v2_bodies(draw: st.DrawFn, inputs: list[dict[str, Any]], fields: list[dict[str, Any]], sample: list[str]):
    """Tensors as the metadata declares them, their cells as `_cell` draws them (BYTES) or numbers;
    one body in four has one thing broken: a datatype, a shape, or a tensor left out."""
    rows = draw(st.integers(1, 4))
    by_name = {f["name"]: (f, s) for f, s in zip(fields, sample, strict=True)}
    tensors = []
    for tensor in inputs:
        field, text = by_name[tensor["name"]]
        if tensor["datatype"] == "BYTES":
            cells = st.one_of(
                st.just(text), st.sampled_from(field.get("levels") or [text]), st.sampled_from(TRICKY_TEXTS)
            )
        else:
            cells = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(2**40), 2**40))
        data = draw(st.lists(cells, min_size=rows, max_size=rows))
        shape = draw(st.sampled_from([[rows], [rows], [rows, 1]]))
        tensors.append({"name": tensor["name"], "shape": shape, "datatype": tensor["datatype"], "data": data})
    broken = draw(st.sampled_from(["nothing"] * 3 + ["datatype", "shape", "missing"]))
    victim = tensors[draw(st.integers(0, len(tensors) - 1))]
    if broken == "datatype":
        victim["datatype"] = draw(st.sampled_from(["FP64", "INT32", "BOOL", "FP16", "NOPE"]))
    elif broken == "shape":
        victim["shape"] = draw(st.sampled_from([[rows + 1], [1, rows + 1], [], [-1]]))
    elif broken == "missing":
        tensors.remove(victim)
    body: dict[str, Any] = {"inputs": tensors}
    if draw(st.integers(0, 4)) == 0:
        body["parameters"] = {"shapley": draw(st.sampled_from(["original", "transformed", "nope"]))}
    return body


def _fuzz(client: httpx.Client, path: str, strategy: st.SearchStrategy[dict[str, Any]], cases: int) -> Counter:
    statuses: Counter = Counter()

    @given(body=strategy)
    @settings(FUZZ, max_examples=cases)
    def run(body: dict[str, Any]) -> None:
        content = json.dumps(body).encode()  # NaN and Infinity floats as their (non-standard) JSON literals
        response = client.post(path, content=content, headers={"content-type": "application/json"})
        _assert_well_formed(response)
        statuses[response.status_code] += 1

    run()
    return statuses


def _schema(client: httpx.Client) -> tuple[list[dict[str, Any]], list[str]]:
    inputs = client.get("/model/schema").json()["schema"]["inputFields"]
    sample = client.get("/model/sample_request").json()
    levels = {f["name"]: f.get("levels") for f in inputs}
    fields = [{"name": n, "levels": levels.get(n)} for n in sample["fields"]]
    return fields, sample["rows"][0]


@pytest.mark.parametrize("path", ["/model/score", "/model/contribution"])
def test_h2o_api_bodies_from_the_models_schema_never_fail_the_server(client, path):
    fields, sample = _schema(client)
    statuses = _fuzz(client, path, h2o_bodies(fields, sample, explain=path.endswith("contribution")), CASES // 2)
    assert sum(statuses.values()) >= CASES // 2
    assert statuses[200] >= CASES // 2 * 0.2, statuses  # scoring, not only the request checks, was fuzzed
    assert (
        client.post("/model/score", json={"fields": [f["name"] for f in fields], "rows": [sample]}).status_code == 200
    )


def test_v2_bodies_from_the_models_metadata_never_fail_the_server(client):
    fields, sample = _schema(client)
    name = MODEL.name.removesuffix(".zip")
    inputs = client.get(f"/v2/models/{name}").json()["inputs"]
    statuses = _fuzz(client, f"/v2/models/{name}/infer", v2_bodies(inputs, fields, sample), CASES)
    assert sum(statuses.values()) >= CASES
    assert statuses[200] >= CASES * 0.2, statuses
    assert client.get("/v2/health/ready").status_code == 200
