"""The H2O API's request and response shapes, camelCase on the wire.

Rows are validated as plain JSON arrays here and their cells in one pass by the core's column
reader: per-cell pydantic models would cost more than scoring a small model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from scoring_runtime.protocols.h2o.rows import CellRows, RowTable

ShapleyType = Literal["NONE", "ORIGINAL", "TRANSFORMED"]


class WireModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class TableRequest(WireModel):
    """A request carrying `fields` and `rows`."""

    fields: list[str] = Field(description="Column names of `rows`; must include every model input field.")
    rows: RowTable = Field(description="Rows of values, each with exactly `len(fields)` values.")


class ScoreRequest(TableRequest):
    """A table to score; every value a string (numbers, booleans and null are read as their text)."""

    include_fields_in_output: list[str] | None = Field(
        default=None, description="Input fields copied into each output row, before the predictions."
    )
    id_field: str | None = Field(
        default=None, description="Row-id field; generated as a UUID4 when included but not sent."
    )
    no_field_names_in_output: bool = Field(default=False, description="Omit `fields` from the response.")
    request_shapley_value_type: ShapleyType = Field(
        default="NONE", description="Also return Shapley contributions of this type."
    )
    request_prediction_intervals: bool = Field(default=False, description="Also return prediction intervals.")
    request_test_time_augmentation: bool = Field(
        default=False, description="Average the outputs over the model's declared image augmentations."
    )


class MediaScoreRequest(ScoreRequest):
    """The `scoreMediaRequest` part of `/model/media-score`: a ScoreRequest plus its media fields."""

    rows: CellRows = Field(description="Rows of values; a media field's cell names an uploaded file.")

    media_fields: list[str] = Field(
        default_factory=list,
        description="Fields whose cells name uploaded files (also accepted as `media_fields`).",
    )


class ContributionRequest(TableRequest):
    request_shapley_value_type: ShapleyType = Field(description="ORIGINAL or TRANSFORMED.")


class ContributionGroup(WireModel):
    output_group: str | None = None
    contributions: list[list[str]]


class ContributionResponse(WireModel):
    features: list[str]
    contribution_groups: list[ContributionGroup]


class PredictionIntervals(WireModel):
    fields: list[str]
    rows: list[list[str]]


class ScoreResponse(WireModel):
    id: str
    fields: list[str] | None = None
    score: list[list[str]]
    feature_shapley_contributions: ContributionResponse | None = None
    prediction_intervals: PredictionIntervals | None = None


class DataField(WireModel):
    name: str
    data_type: Literal["Bool", "Int32", "Int64", "Float32", "Float64", "Str", "Time64"]


class ModelProperties(WireModel):
    scoring_type: Literal["REGRESSION", "CLASSIFICATION", "BINOMIAL"]
    scoring_respon_labels: list[str]


class ModelSchemaDocument(WireModel):
    input_fields: list[DataField]
    target_fields: list[DataField]
    output_fields: list[DataField]


class ModelDocument(WireModel):
    id: str
    name: str
    description: str
    properties: ModelProperties
    schema_: ModelSchemaDocument = Field(alias="schema")


class ErrorBody(BaseModel):
    detail: str


class ChallengerReport(BaseModel):
    """One challenger of a champion/challenger deployment, since the server started."""

    model: str
    scored: int
    skipped: int = Field(description="Requests not offered to it because its queue was full.")
    failed: int
    meanAbsDiff: float | None = Field(description="Mean absolute difference of its outputs from the champion's.")
    agreement: float | None = Field(
        description="Share of rows whose most probable class agrees; null for a regression."
    )
    latencyMsP50: float | None
