"""One input row a model is known to score: its own example, else placeholder values by type.

The self-check scores it before the server reports ready, and the protocols offer it to clients
as the sample request, so what a client is shown is exactly what was proven to score.
"""

from __future__ import annotations

from scoring_runtime.core.types import DataType, Field, ModelSchema

_PLACEHOLDERS = {DataType.BOOL: "true", DataType.STR: "text", DataType.TIME64: "2018-01-01"}


def sample_row(schema: ModelSchema) -> tuple[str, ...]:
    """The model's own input example when it ships one; else numbers "0", the first known level,
    the placeholder texts, and empty media cells (a template, not a scorable row)."""
    if schema.example_row is not None:
        return schema.example_row
    media = set(schema.media_fields)
    return tuple(_placeholder(f, f.name in media) for f in schema.inputs)


def _placeholder(field: Field, is_media: bool) -> str:
    if is_media:
        return ""
    if field.data_type.is_numeric:
        return "0"
    if field.data_type is DataType.STR and field.levels:
        return field.levels[0]
    return _PLACEHOLDERS[field.data_type]
