from __future__ import annotations

import json

import pytest

from scoring_runtime.core.errors import ModelLoadError
from scoring_runtime.core.types import DataType
from scoring_runtime.runtimes.source.avro import Rejected, check_output, convert_column, read_schema


def _schema(tmp_path, fields):
    path = tmp_path / "s.avsc"
    path.write_text(json.dumps({"type": "record", "name": "r", "fields": fields}))
    return read_schema(path)


def test_avro_types_give_the_api_types(tmp_path):
    types = ["int", "long", "float", "double", "boolean", "string", ["null", "double"]]
    schema = _schema(tmp_path, [{"name": f"f{i}", "type": t} for i, t in enumerate(types)])
    assert [f.field.data_type for f in schema.fields] == [
        DataType.INT32, DataType.INT64, DataType.FLOAT32, DataType.FLOAT64, DataType.BOOL, DataType.STR,
        DataType.FLOAT64,
    ]  # fmt: skip
    assert [f.nullable for f in schema.fields] == [False] * 6 + [True]


@pytest.mark.parametrize(
    "declared",
    [{"type": "array", "items": "int"}, {"type": "int", "logicalType": "date"}, "bytes", ["null"]],
)
def test_types_a_table_cell_cannot_hold_are_refused_at_load(tmp_path, declared):
    with pytest.raises(ModelLoadError, match="the field 'f' has the type"):
        _schema(tmp_path, [{"name": "f", "type": declared}])


def test_an_invalid_schema_is_refused_by_fastavro(tmp_path):
    with pytest.raises(ModelLoadError, match="not a valid Avro schema"):
        _schema(tmp_path, [{"name": "f", "type": "nonsense"}])
    (tmp_path / "bad.avsc").write_text("{")
    with pytest.raises(ModelLoadError, match="not a readable JSON Avro schema"):
        read_schema(tmp_path / "bad.avsc")


@pytest.mark.parametrize(
    ("declared", "texts", "expected"),
    [
        ("double", ["1.5", "2", "-3e2"], [1.5, 2.0, -300.0]),
        ("int", ["1", "2.0", "-7"], [1, 2, -7]),
        ("long", ["9007199254740993"], [9007199254740993]),
        ("boolean", ["true", "False", "1"], [True, False, True]),
        ("string", ["a", "1"], ["a", "1"]),
        (["null", "double"], ["1", None], [1.0, None]),
        (["int", "string"], ["3", "x"], [3, "x"]),
    ],
)
def test_cells_are_converted_to_the_schema_types(tmp_path, declared, texts, expected):
    field = _schema(tmp_path, [{"name": "f", "type": declared}]).fields[0]
    values = convert_column(field, texts)
    assert values == expected and [type(v) for v in values] == [type(v) for v in expected]


@pytest.mark.parametrize(
    ("declared", "texts", "row", "why"),
    [
        ("double", ["1", "abc"], 1, "has the value 'abc', which is not a double"),
        ("double", ["inf"], 0, "which is not a double"),
        ("double", ["\u0661"], 0, "which is not a double"),  # ARABIC-INDIC DIGIT ONE
        ("int", ["2.5"], 0, "which is not an int"),
        ("int", ["1", "3000000000"], 1, "'3000000000', which is not an int"),
        ("boolean", ["yes"], 0, "which is not a boolean"),
        ("double", ["1", None], 1, "is missing, and its type double does not allow null"),
        (["int", "boolean"], ["x"], 0, "which is not an int or boolean"),
    ],
)
def test_a_refused_cell_names_its_row_field_and_why(tmp_path, declared, texts, row, why):
    field = _schema(tmp_path, [{"name": "f", "type": declared}]).fields[0]
    with pytest.raises(Rejected) as caught:
        convert_column(field, texts)
    assert caught.value.row == row and caught.value.field == "f" and why in str(caught.value)


def test_output_records_are_validated_by_the_output_schema(tmp_path):
    schema = _schema(tmp_path, [{"name": "y", "type": "double"}, {"name": "note", "type": ["null", "string"]}])
    assert check_output(schema, 0, {"y": 1, "note": None, "extra": 3}) == [1, None]
    assert check_output(schema, 0, {"y": 2.5}) == [2.5, None]
    with pytest.raises(Rejected, match="field 'y' is 'high', which is not a double"):
        check_output(schema, 4, {"y": "high"})
    with pytest.raises(Rejected, match="field 'y' is missing"):
        check_output(schema, 4, {"note": "n"})
