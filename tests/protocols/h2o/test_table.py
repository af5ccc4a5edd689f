from __future__ import annotations

import base64
import math
import uuid

import numpy as np
import pytest

from scoring_runtime.core.columns import ReadOptions
from scoring_runtime.core.errors import InvalidInput, TooLarge
from scoring_runtime.core.samples import sample_row
from scoring_runtime.core.types import DataType, Field, ModelSchema, ScoringType
from scoring_runtime.protocols.h2o.errors import render
from scoring_runtime.protocols.h2o.rows import CellRows
from scoring_runtime.protocols.h2o.table import (
    GENERATED_ID,
    attach_media,
    check_table,
    output_plan,
    planned_columns,
    planned_names,
)
from scoring_runtime.settings import DEFAULT_MISSING_VALUES

SCHEMA = ModelSchema(
    inputs=(
        Field("num", DataType.FLOAT64),
        Field("count", DataType.INT32),
        Field("cat", DataType.STR, levels=("a", "b")),
        Field("text", DataType.STR),
        Field("flag", DataType.BOOL),
        Field("when", DataType.TIME64),
    ),
    outputs=(Field("y.0", DataType.FLOAT64), Field("y.1", DataType.FLOAT64)),
    targets=(Field("y", DataType.STR),),
    scoring_type=ScoringType.BINOMIAL,
    class_labels=("0", "1"),
)
MEDIA_SCHEMA = ModelSchema(
    inputs=(Field("image", DataType.STR), Field("size", DataType.FLOAT64)),
    outputs=(Field("label", DataType.FLOAT64),),
    targets=(Field("label", DataType.FLOAT64),),
    scoring_type=ScoringType.REGRESSION,
    media_fields=("image",),
)
FIELDS = ["num", "count", "cat", "text", "flag", "when"]
GOOD_ROW = ["1.5", "2", "a", "hello", "true", "2018-01-01"]
OPTIONS = ReadOptions(frozenset(DEFAULT_MISSING_VALUES))


def to_frame(fields, rows, schema, options):
    return CellRows(rows).read(fields, schema, options)


@pytest.mark.parametrize(
    ("fields", "rows", "status", "fragment"),
    [
        ([], [GOOD_ROW], 400, "'fields' is empty"),
        (FIELDS, [], 400, "'rows' is empty"),
        ([*FIELDS, "num"], [[*GOOD_ROW, "1"]], 400, "'num' more than once"),
        (FIELDS[:-2], [GOOD_ROW[:-2]], 400, "lacks the model input field(s) 'flag', 'when'"),
        (FIELDS, [GOOD_ROW, GOOD_ROW[:-1]], 400, "row 1 has 5 values but 'fields' names 6"),
        (FIELDS, [GOOD_ROW] * 4, 413, "4 rows; at most 3"),
    ],
)
def test_check_table_rejects(fields, rows, status, fragment):
    with pytest.raises((InvalidInput, TooLarge)) as caught:
        check_table(fields, CellRows(rows), SCHEMA, max_rows=3)
    assert render(caught.value).status_code == status
    assert fragment in caught.value.detail


def test_check_table_accepts_extra_fields_in_any_order():
    fields = ["extra", *reversed(FIELDS)]
    check_table(fields, CellRows([["x", *reversed(GOOD_ROW)]]), SCHEMA, max_rows=3)


def test_to_frame_types_each_column_by_the_schema():
    frame, columns = to_frame(FIELDS, [GOOD_ROW, [3, 4.0, "b", None, False, "2020-02-29 10:00"]], SCHEMA, OPTIONS)
    assert list(frame) == FIELDS and frame.rows == 2
    assert frame["num"].dtype == np.float64 and frame["num"].tolist() == [1.5, 3.0]
    assert frame["count"].tolist() == [2.0, 4.0]
    assert frame["cat"].tolist() == ["a", "b"]
    assert frame["text"].tolist() == ["hello", None]
    assert frame["flag"].tolist() == [True, False]
    assert list(frame["when"]) == [np.datetime64("2018-01-01"), np.datetime64("2020-02-29T10:00")]
    assert columns[0] == ("1.5", 3)


@pytest.mark.parametrize("token", DEFAULT_MISSING_VALUES)
def test_missing_tokens_are_missing_in_every_type(token):
    frame, _ = to_frame(FIELDS, [[token] * 6], SCHEMA, OPTIONS)
    assert math.isnan(frame["num"][0]) and math.isnan(frame["count"][0])
    assert frame["cat"][0] is None and frame["text"][0] is None
    assert frame["flag"][0] is None and np.isnat(frame["when"][0])


def test_json_null_is_missing():
    frame, _ = to_frame(FIELDS, [[None] * 6], SCHEMA, OPTIONS)
    assert math.isnan(frame["num"][0]) and frame["cat"][0] is None


def test_configured_missing_tokens_replace_the_defaults_even_when_numeric():
    options = ReadOptions(frozenset({"-999", "?"}))
    frame, _ = to_frame(FIELDS, [["-999", "?", "?", "NA", "?", "?"]], SCHEMA, options)
    assert math.isnan(frame["num"][0]) and math.isnan(frame["count"][0])
    assert frame["text"][0] == "NA"


def test_unseen_category_is_scored_as_missing():
    frame, _ = to_frame(FIELDS, [["1", "1", "never-seen", "x", "true", "2018-01-01"]], SCHEMA, OPTIONS)
    assert frame["cat"][0] is None


@pytest.mark.parametrize(
    ("column", "value", "fragment"),
    [
        ("num", "abc", "Field 'num' in row 1 has the value 'abc', which is not a number."),
        ("num", True, "Field 'num' in row 1 has the value 'true', which is not a number."),
        ("flag", "maybe", "Field 'flag' in row 1 has the value 'maybe', which is not true or false."),
        ("when", "not a date", "Field 'when' in row 1 has the value 'not a date', which is not a date-time."),
        ("text", {"a": 1}, "Field 'text' in row 1 holds a JSON object, not a value."),
        ("num", [1], "Field 'num' in row 1 holds a JSON array, not a value."),
    ],
)
def test_unreadable_values_name_field_and_row(column, value, fragment):
    bad = list(GOOD_ROW)
    bad[FIELDS.index(column)] = value
    with pytest.raises(InvalidInput) as caught:
        to_frame(FIELDS, [GOOD_ROW, bad], SCHEMA, OPTIONS)
    assert fragment in caught.value.detail


@pytest.mark.parametrize("huge", ["1e999999", 10**400, "-" + "9" * 400])
def test_numbers_beyond_float64_are_refused_naming_the_cell(huge):
    for row in ([huge, "1"], [huge, None]):  # vectorised path, and the per-cell path a null forces
        with pytest.raises(
            InvalidInput, match=r"Field 'num' in row 0 has the value .*, which is outside the float64 range"
        ):
            to_frame(["num", "count"], [row], _numbers_only(), OPTIONS)


@pytest.mark.parametrize(
    "text",
    [
        "inf",
        "-inf",
        "infinity",
        "INFINITY",
        "1_000",
        " 12",
        "12 ",
        "0x10",
        "\u0661\u0662",
        "\uff11\uff12",
        "1e",
        "e5",
        "--1",
        "1.2.3",
    ],
)
def test_texts_outside_the_number_grammar_are_not_numbers(text):
    for rows in ([[text, "1"]], [[text, None]], [[text, "1"], ["NA", "2"]]):  # each of the column reader's paths
        with pytest.raises(InvalidInput, match=r"Field 'num' in row 0 has the value .*, which is not a number\."):
            to_frame(["num", "count"], rows, _numbers_only(), OPTIONS)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", 12.0),
        ("-1.5", -1.5),
        ("+1.5", 1.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("1E-3", 0.001),
        ("-0", -0.0),
        ("Infinity", math.inf),
        ("-Infinity", -math.inf),
        ("+Infinity", math.inf),
        ("1.7976931348623157e308", 1.7976931348623157e308),
    ],
)
def test_texts_in_the_number_grammar_read_as_python_reads_them(text, value):
    for rows in ([[text, "1"]], [[text, None]], [[text, "1"], ["NA", "2"]]):
        frame, _ = to_frame(["num", "count"], rows, _numbers_only(), OPTIONS)
        assert frame["num"][0] == value and math.copysign(1, frame["num"][0]) == math.copysign(1, value)


def test_nan_is_missing_only_as_a_missing_token():
    frame, _ = to_frame(["num", "count"], [["NaN", "1"]], _numbers_only(), OPTIONS)
    assert math.isnan(frame["num"][0])
    strict = ReadOptions(frozenset({"NA"}))
    with pytest.raises(InvalidInput, match="which is not a number"):
        to_frame(["num", "count"], [["NaN", "1"]], _numbers_only(), strict)


def _numbers_only() -> ModelSchema:
    return ModelSchema(
        inputs=(Field("num", DataType.FLOAT64), Field("count", DataType.INT32)),
        outputs=SCHEMA.outputs,
        targets=SCHEMA.targets,
        scoring_type=SCHEMA.scoring_type,
    )


def test_invalid_numbers_can_be_read_as_missing():
    options = ReadOptions(frozenset(DEFAULT_MISSING_VALUES), invalid_numbers_as_missing=True)
    bad = list(GOOD_ROW)
    bad[0] = "abc"
    frame, _ = to_frame(FIELDS, [bad], SCHEMA, options)
    assert math.isnan(frame["num"][0])


def test_media_cells_accept_bytes_and_base64_and_reject_bad_base64():
    png = b"\x89PNG\r\n\x1a\nrest"
    frame, _ = to_frame(
        ["image", "size"], [[png, "1"], [base64.b64encode(png).decode(), "2"], ["", "3"]], MEDIA_SCHEMA, OPTIONS
    )
    assert frame["image"].tolist() == [png, png, None]
    with pytest.raises(InvalidInput, match="Media field 'image' in row 0 is not valid base64"):
        to_frame(["image", "size"], [["not base64!", "1"]], MEDIA_SCHEMA, OPTIONS)


@pytest.mark.parametrize(
    ("include", "id_field", "plan", "names"),
    [
        (None, None, [], []),
        (["text", "num"], None, [0, 3], ["num", "text"]),
        (["num", "rid"], "rid", [0, GENERATED_ID], ["num", "rid"]),
        (["num", "text"], "text", [0, 3], ["num", "text"]),
        (["num"], "rid", [0], ["num"]),
    ],
)
def test_output_plan_copies_in_request_order_then_generated_id(include, id_field, plan, names):
    assert output_plan(FIELDS, include, id_field) == plan
    assert planned_names(FIELDS, plan, id_field) == names


def test_output_plan_rejects_unknown_fields_by_name():
    with pytest.raises(InvalidInput, match="'includeFieldsInOutput' names 'nope', which is neither"):
        output_plan(FIELDS, ["num", "nope"], "rid")


def test_copied_columns_keep_request_text_null_becomes_empty_and_ids_are_uuid4():
    copied = planned_columns([0, GENERATED_ID], [("a", None, 1, 1.5, True)], 5)
    assert copied[0] == ["a", "", "1", "1.5", "true"]
    assert len(set(copied[1])) == 5 and all(uuid.UUID(i).version == 4 for i in copied[1])


def test_the_sample_row_reads_back_without_missing_values():
    frame, _ = to_frame(FIELDS, [list(sample_row(SCHEMA))], SCHEMA, OPTIONS)
    assert frame.rows == 1 and frame["cat"][0] == "a" and frame["flag"][0] is True and frame["num"][0] == 0.0


def test_attach_media_replaces_file_names_by_bytes():
    rows = attach_media(
        ["image", "size"], CellRows([["a.png", "1"], [None, "2"]]), ["image"], MEDIA_SCHEMA, {"a.png": b"A"}
    )
    assert rows.values == [[b"A", "1"], [None, "2"]]


@pytest.mark.parametrize(
    ("media_fields", "rows", "fragment"),
    [
        (["image"], [["b.png", "1"]], "Field 'image' in row 0 names the file 'b.png', which was not uploaded."),
        (["size"], [["a.png", "1"]], "'mediaFields' names 'size'; this model's media fields are 'image'."),
    ],
)
def test_attach_media_rejects(media_fields, rows, fragment):
    with pytest.raises(InvalidInput) as caught:
        attach_media(["image", "size"], CellRows(rows), media_fields, MEDIA_SCHEMA, {"a.png": b"A"})
    assert fragment in caught.value.detail
