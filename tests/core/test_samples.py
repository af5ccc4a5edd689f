from __future__ import annotations

from scoring_runtime.core.samples import sample_row
from scoring_runtime.core.types import DataType, Field, ModelSchema, ScoringType


def _schema(*inputs: Field, **extra) -> ModelSchema:
    return ModelSchema(
        inputs=inputs,
        outputs=(Field("y", DataType.FLOAT64),),
        targets=(Field("y", DataType.FLOAT64),),
        scoring_type=ScoringType.REGRESSION,
        **extra,
    )


def test_the_sample_row_uses_the_api_placeholders_and_known_levels():
    schema = _schema(
        Field("num", DataType.FLOAT64),
        Field("count", DataType.INT32),
        Field("cat", DataType.STR, levels=("a", "b")),
        Field("text", DataType.STR),
        Field("flag", DataType.BOOL),
        Field("when", DataType.TIME64),
    )
    assert sample_row(schema) == ("0", "0", "a", "text", "true", "2018-01-01")


def test_media_cells_are_empty_unless_the_model_ships_an_example():
    inputs = (Field("image", DataType.STR), Field("size", DataType.FLOAT64))
    assert sample_row(_schema(*inputs, media_fields=("image",))) == ("", "0")
    assert sample_row(_schema(*inputs, media_fields=("image",), example_row=("aGk=", "3"))) == ("aGk=", "3")
