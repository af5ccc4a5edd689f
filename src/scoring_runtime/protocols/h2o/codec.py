"""The H2O API over the core: a request becomes a `Job` for the model, a result its answer.

All tabular values travel as strings; the answer lists copied input fields, then the generated
id, then the model's outputs, with Shapley values and intervals only when asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scoring_runtime.core.errors import InvalidInput, NotFound
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.model import Job, Scored, ScoreOptions, ServedModel
from scoring_runtime.core.samples import sample_row
from scoring_runtime.core.text import number_columns, value_columns
from scoring_runtime.core.types import Contributions, Field, ShapleyKind
from scoring_runtime.protocols.h2o.rows import Columns
from scoring_runtime.protocols.h2o.table import attach_media, check_table, output_plan, planned_columns, planned_names
from scoring_runtime.protocols.h2o.wire import ContributionRequest, MediaScoreRequest, ScoreRequest

Body = dict[str, Any]


@dataclass(frozen=True)
class _Kept:
    """What the answer needs from the request besides the scores: the columns it copies."""

    columns: Columns
    plan: list[int]


def score_job(model: ServedModel, request: ScoreRequest, *, blocking: bool = False) -> Job[_Kept, Scored, Body]:
    options = ScoreOptions(
        intervals=request.request_prediction_intervals,
        augment=request.request_test_time_augmentation,
        shapley=_shapley(model, request.request_shapley_value_type, required=False),
    )

    def decode() -> tuple[_Kept, Frame]:
        check_table(request.fields, request.rows, model.schema, model.max_rows)
        plan = output_plan(request.fields, request.include_fields_in_output, request.id_field)
        frame, columns = request.rows.read(request.fields, model.schema, model.read_options)
        return _Kept(columns, plan), frame

    def encode(kept: _Kept, scored: Scored) -> Body:
        rows = len(scored.predictions)
        out = planned_columns(kept.plan, kept.columns, rows) + value_columns(scored.predictions)
        body: Body = {"id": model.model_id}
        if not request.no_field_names_in_output:
            copied = planned_names(request.fields, kept.plan, request.id_field)
            body["fields"] = copied + list(model.schema.output_names)
        body["score"] = _rows(out)
        if scored.contributions is not None:
            body["featureShapleyContributions"] = contributions_body(scored.contributions)
        if scored.intervals is not None:
            target = model.schema.target_name
            body["predictionIntervals"] = {
                "fields": [f"{target}.lower", f"{target}.upper"],
                "rows": _text_rows(scored.intervals),
            }
        return body

    return Job(len(request.rows), decode, encode, options, blocking)


def require_media(model: ServedModel) -> None:
    """Checked before a multipart body is read: a model without media fields takes none."""
    if not model.schema.media_fields:
        raise InvalidInput("This model takes no media inputs; score it with POST /model/score.")


def media_job(model: ServedModel, request: MediaScoreRequest, files: dict[str, bytes]) -> Job[_Kept, Scored, Body]:
    """Each media cell (a file name) replaced by the uploaded file's bytes, then scored."""
    rows = attach_media(request.fields, request.rows, request.media_fields, model.schema, files)
    return score_job(model, request.model_copy(update={"rows": rows}), blocking=True)


def contribution_job(
    model: ServedModel, request: ContributionRequest
) -> tuple[Job[None, Contributions, Body], ShapleyKind]:
    kind = _shapley(model, request.request_shapley_value_type, required=True)
    assert kind is not None

    def decode() -> tuple[None, Frame]:
        check_table(request.fields, request.rows, model.schema, model.max_rows)
        return None, request.rows.read(request.fields, model.schema, model.read_options)[0]

    return Job(len(request.rows), decode, lambda _, contributions: contributions_body(contributions)), kind


def contributions_body(contributions: Contributions) -> Body:
    groups = []
    for group in contributions.groups:
        entry: Body = {"contributions": _text_rows(group.values)}
        if group.output_group is not None:
            entry = {"outputGroup": group.output_group, **entry}
        groups.append(entry)
    return {"features": list(contributions.features), "contributionGroups": groups}


def sample_request(model: ServedModel) -> Body:
    if model.schema.free_form and not model.schema.inputs:
        raise NotFound(
            "This model declares no input schema, so it has no sample request; send the fields its code reads."
        )
    return {"fields": list(model.schema.input_names), "rows": [list(sample_row(model.schema))]}


def contribution_example(model: ServedModel) -> Body | None:
    """The sample request asking for the first Shapley type the model offers; None when it offers none."""
    kinds = [k for k in ShapleyKind if k.capability in model.capabilities]
    return {**sample_request(model), "requestShapleyValueType": kinds[0].value} if kinds else None


def schema_document(model: ServedModel, *, levels: bool = False) -> Body:
    """The API's `Model`; with `levels`, each categorical input also lists the levels it knows (an
    extension the page at `/` uses for its form; without it the contract's shape exactly)."""
    schema = model.schema
    media = ", media fields: " + ", ".join(schema.media_fields) if schema.media_fields else ""
    return {
        "id": model.model_id,
        "name": model.info.name,
        "description": model.info.description + media,
        "properties": {"scoringType": schema.scoring_type.value, "scoringResponLabels": list(schema.class_labels)},
        "schema": {
            "inputFields": [_data_field(f, levels=levels) for f in schema.inputs],
            "targetFields": [_data_field(f) for f in schema.targets],
            "outputFields": [_data_field(f) for f in schema.outputs],
        },
    }


def _shapley(model: ServedModel, value: str, *, required: bool) -> ShapleyKind | None:
    if value != "NONE":
        return ShapleyKind(value)
    if required:
        raise InvalidInput(
            "'requestShapleyValueType' must be ORIGINAL or TRANSFORMED on /model/contribution; "
            f"this model supports {model.shapley_offered()}."
        )
    return None


def _data_field(field: Field, *, levels: bool = False) -> dict[str, Any]:
    found: dict[str, Any] = {"name": field.name, "dataType": field.data_type.value}
    if levels and field.levels is not None:
        found["levels"] = list(field.levels)
    return found


def _rows(columns: list[list[str]]) -> list[list[str]]:
    return [list(row) for row in zip(*columns, strict=True)]


def _text_rows(matrix: np.ndarray) -> list[list[str]]:
    return _rows(number_columns(matrix))
