"""Reading JSON bodies: the float fast path must read exactly what the general path reads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scoring_runtime.core.columns import ReadOptions
from scoring_runtime.core.errors import InvalidInput
from scoring_runtime.core.types import DataType, Field, ModelSchema, ScoringType
from scoring_runtime.protocols.h2o import bodies
from scoring_runtime.protocols.h2o.bodies import parse_json
from scoring_runtime.protocols.h2o.rows import CellRows, FloatRows
from scoring_runtime.protocols.h2o.table import check_table
from scoring_runtime.protocols.h2o.wire import ContributionRequest, ScoreRequest

FIELDS = ["a", "b", "c"]
SCHEMA = ModelSchema(
    inputs=tuple(Field(name, DataType.FLOAT64) for name in FIELDS),
    outputs=(Field("y", DataType.FLOAT64),),
    targets=(Field("y", DataType.FLOAT64),),
    scoring_type=ScoringType.REGRESSION,
)
OPTIONS = ReadOptions(frozenset({"", "NA"}))


def _frame(body: bytes, numeric_rows: bool) -> tuple[ScoreRequest, dict[str, np.ndarray]]:
    request = parse_json(body, ScoreRequest, numeric_rows=numeric_rows)
    frame, _ = request.rows.read(request.fields, SCHEMA, OPTIONS)
    return request, {name: frame[name] for name in FIELDS}


def test_float_rows_read_exactly_what_the_general_path_reads():
    rng = np.random.default_rng(3)
    values = rng.random(3_000) * 10.0 ** rng.integers(-320, 300, 3_000) * rng.choice([-1, 1], 3_000)
    texts = [repr(v) for v in values.tolist()] + ["1", "-2", "1E5", "2.50", "0.1e-3"] * 3
    rows = [texts[i : i + 3] for i in range(0, len(texts) - len(texts) % 3, 3)]
    body = json.dumps({"fields": FIELDS, "rows": rows}).encode()
    fast_request, fast = _frame(body, numeric_rows=True)
    general_request, general = _frame(body, numeric_rows=False)
    assert isinstance(fast_request.rows, FloatRows) and isinstance(general_request.rows, CellRows)
    for name in FIELDS:
        assert fast[name].dtype == np.float64
        np.testing.assert_array_equal(fast[name], general[name])
        assert np.array_equal(np.signbit(fast[name]), np.signbit(general[name]))


def test_texts_the_float_reader_takes_outside_the_grammar_go_to_the_cell_reader():
    """msgspec reads "nan", "inf" and "Infinity" as floats; the cell reader decides on them."""
    request, frame = _frame(json.dumps({"fields": FIELDS, "rows": [["-Infinity", "1", "2"]]}).encode(), True)
    assert isinstance(request.rows, CellRows) and frame[FIELDS[0]].tolist() == [-np.inf]
    with pytest.raises(InvalidInput, match="has the value 'inf', which is not a number"):
        _frame(json.dumps({"fields": FIELDS, "rows": [["inf", "1", "2"]]}).encode(), True)


@pytest.mark.parametrize("chunk_bytes", [40, 97, 1 << 20])
def test_rows_read_in_chunks_are_the_rows_read_at_once(monkeypatch, chunk_bytes):
    monkeypatch.setattr(bodies, "_CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(5)
    rows = [[repr(v) for v in row] for row in (rng.random((400, 3)) * 1e3).tolist()]
    body = json.dumps({"fields": FIELDS, "rows": rows}, indent=1).encode()  # "],\n" between rows
    request = parse_json(body, ScoreRequest, numeric_rows=True)
    assert isinstance(request.rows, FloatRows) and request.rows.block.shape == (400, 3)
    np.testing.assert_array_equal(request.rows.block, np.array(rows, dtype=float))


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        ([["1", "2"]], "row 399 has 2 values"),
        ([["1", "2", "3", "4"]], "row 399 has 4 values"),
        ([["1", "],[2", "3"]], "'],[2'"),
    ],
    ids=["short last row", "long last row", "a row end inside a text cell"],
)
@pytest.mark.parametrize("chunk_bytes", [64, 1 << 20], ids=["chunks", "one block"])
def test_chunks_that_disagree_fall_back_to_the_general_reader(monkeypatch, tail, expected, chunk_bytes):
    monkeypatch.setattr(bodies, "_CHUNK_BYTES", chunk_bytes)
    body = json.dumps({"fields": FIELDS, "rows": [["1", "2", "3"]] * 399 + tail}).encode()
    request = parse_json(body, ScoreRequest, numeric_rows=True)
    assert isinstance(request.rows, CellRows) and request.rows.values[-1] == tail[0]
    with pytest.raises(InvalidInput) as caught:
        to_frame_checked(request)
    assert expected in caught.value.detail


def to_frame_checked(request: ScoreRequest) -> None:
    check_table(request.fields, request.rows, SCHEMA, 10_000)
    request.rows.read(request.fields, SCHEMA, OPTIONS)


@pytest.mark.parametrize(
    "row",
    [["1", "NA", "3"], ["1", None, "3"], ["1", True, "3"], ["1", "x", "3"], ["1", " 2", "3"], ["1", "02", "3"]],
    ids=["missing token", "null", "boolean", "text", "padded", "leading zero"],
)
def test_rows_that_are_not_all_float_texts_keep_their_json_values(row):
    request = parse_json(json.dumps({"fields": FIELDS, "rows": [row]}).encode(), ScoreRequest, numeric_rows=True)
    assert isinstance(request.rows, CellRows) and request.rows.values == [row]


def test_echoed_fields_keep_their_texts():
    body = {"fields": FIELDS, "rows": [["1.50", "2", "3"]], "includeFieldsInOutput": ["a"]}
    request = parse_json(json.dumps(body).encode(), ScoreRequest, numeric_rows=True)
    assert isinstance(request.rows, CellRows) and request.rows.values == [["1.50", "2", "3"]]


def test_options_are_read_in_either_spelling_and_last_duplicate_wins():
    body = b'{"fields": ["a"], "rows": [["1"]], "rows": [["2"]], "request_prediction_intervals": true}'
    request = parse_json(body, ScoreRequest, numeric_rows=True)
    assert request.rows.block.tolist() == [[2.0]] and request.request_prediction_intervals
    contribution = parse_json(
        b'{"fields": ["a"], "rows": [["1"]], "requestShapleyValueType": "ORIGINAL"}',
        ContributionRequest,
        numeric_rows=True,
    )
    assert isinstance(contribution.rows, FloatRows) and contribution.request_shapley_value_type == "ORIGINAL"


def test_valid_json_the_fast_readers_refuse_is_still_read():
    request = parse_json(b'{"fields": ["a", "b"], "rows": [[1e400, NaN]]}', ScoreRequest, numeric_rows=True)
    assert request.rows.values[0][0] == float("inf") and np.isnan(request.rows.values[0][1])


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "body is empty"),
        (b'{"fields": [', "not valid JSON"),
        (b'{"fields": ["\xff"], "rows": []}', "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"fields": ["a"], "rows": "x"}', "'rows' is not valid"),
        (b'{"fields": ["a"], "rows": [["1"], "x"]}', "'rows[1]' is not valid: input should be a valid list"),
        (b'{"fields": ["a"], "rows": [["1"]], "requestShapleyValueType": "SOME"}', "must be one of"),
    ],
)
def test_bad_documents_are_one_sentence_400s(body, fragment):
    with pytest.raises(InvalidInput) as caught:
        parse_json(body, ScoreRequest, numeric_rows=True)
    assert fragment in caught.value.detail and caught.value.detail.count(". ") == 0


ROWS = [[f"{i}.5", "2", "-3e2"] for i in range(40)]
FOUND = json.dumps(ROWS)


@pytest.mark.parametrize(
    ("document", "found"),
    [
        ('{"fields": ["a", "b", "c"], "rows": ROWS}', True),
        ('{"rows" : \n ROWS, "fields": ["a", "b", "c"], "requestPredictionIntervals": true}', True),
        ('{"note": {"rows": [["9", "9", "9"]]}, "fields": ["a", "b", "c"], "rows": ROWS}', False),
        ('{"note": "\\"rows\\": [[\\"9\\"]]", "fields": ["a", "b", "c"], "rows": ROWS}', True),
        ('{"fields": ["a", "b", "c"], "rows": [["9", "9", "9"]], "rows": ROWS}', False),
        ('{"fields": ["a", "b", "c"], "rows": ROWS, "note": "]]"}', False),
        ('{"fields": ["a", "b", "c"], "rows": ROWS, "rows": null}', False),
        ('{"fields": ["a", "b", "c"], "rowz": ROWS}', False),
    ],
    ids=[
        "rows last",
        "rows first, spaced",
        "a nested rows key before",
        "the key's text inside a string",
        "a duplicate key before",
        "brackets in a later string",
        "a duplicate key after",
        "no rows",
    ],
)
def test_rows_found_by_searching_a_big_body_are_the_documents_rows(monkeypatch, document, found):
    """The search for `rows` (so a big body is not scanned whole) must take them only where they are
    the document's top-level value; anywhere else the body is read as before, with the same result."""
    monkeypatch.setattr(bodies, "_CHUNK_BYTES", 64)
    body = document.replace("ROWS", FOUND).encode()
    assert (bodies._found_rows(body) is not None) == found
    try:
        expected = ScoreRequest.model_validate_json(body)
    except ValueError:
        with pytest.raises(InvalidInput):
            parse_json(body, ScoreRequest, numeric_rows=True)
        return
    request = parse_json(body, ScoreRequest, numeric_rows=True)
    assert isinstance(request.rows, FloatRows)
    np.testing.assert_array_equal(request.rows.block, np.array(expected.rows.values, dtype=float))
    assert request.request_prediction_intervals == expected.request_prediction_intervals


def test_a_big_body_that_echoes_inputs_keeps_their_texts(monkeypatch):
    monkeypatch.setattr(bodies, "_CHUNK_BYTES", 64)
    body = {"fields": FIELDS, "rows": ROWS, "includeFieldsInOutput": ["a"]}
    request = parse_json(json.dumps(body).encode(), ScoreRequest, numeric_rows=True)
    assert isinstance(request.rows, CellRows) and request.rows.values == ROWS


@pytest.mark.parametrize("fields", [FIELDS, ["c", "a", "b"], ["b", "extra", "a", "c"]])
def test_float_rows_in_any_field_order_read_as_the_cell_reader_reads_them(fields):
    """Fields listing exactly the model's inputs in order are taken without a name lookup; any
    other order, or an extra field, goes by name, and both agree with the general path."""
    rows = [[str(i * 10 + j) for j in range(len(fields))] for i in range(5)]
    body = json.dumps({"fields": fields, "rows": rows}).encode()
    fast_request, fast = _frame(body, numeric_rows=True)
    _, general = _frame(body, numeric_rows=False)
    assert isinstance(fast_request.rows, FloatRows)
    check_table(fast_request.fields, fast_request.rows, SCHEMA, 10)
    for name in FIELDS:
        np.testing.assert_array_equal(fast[name], general[name])
        assert fast[name].tolist() == [float(row[fields.index(name)]) for row in rows]


def test_fields_equal_to_the_inputs_still_have_their_rows_checked():
    request = parse_json(json.dumps({"fields": FIELDS, "rows": [["1", "2"]]}).encode(), ScoreRequest)
    with pytest.raises(InvalidInput, match="row 0 has 2 values but 'fields' names 3"):
        check_table(request.fields, request.rows, SCHEMA, 10)
