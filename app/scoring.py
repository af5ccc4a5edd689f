"""The order of operations for one request: check, convert, score, explain, build the response.

Nothing here knows HTTP; routes hand in parsed requests and get back plain dicts, so the CLI's
batch scoring and the server share exactly this path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import numpy as np

from app.batching import MicroBatcher
from app.costs import RowCost
from app.errors import ApiError, BadRequest, ModelFailed, Overloaded
from app.schemas import ContributionRequest, MediaScoreRequest, ScoreRequest
from app.settings import Settings
from app.tables import (
    GENERATED_ID,
    ReadOptions,
    assemble_rows,
    attach_media,
    augmented_frame,
    check_images,
    check_table,
    echo_column,
    format_numbers,
    generated_ids,
    output_plan,
    planned_names,
    sample_request,
    to_frame,
)
from runtimes.base import Capability, Contributions, Frame, InputError, Scorer, ScoreResult, ShapleyKind

log = logging.getLogger("scorer")
T = TypeVar("T")


@dataclass(frozen=True)
class _Prepared:
    frame: Frame
    columns: list[Sequence[Any]]
    plan: list[int]
    kind: ShapleyKind | None


def effective_capabilities(scorer: Scorer, shapley: frozenset[ShapleyKind]) -> frozenset[Capability]:
    """What the model can do, narrowed by `SHAPLEY_TYPES_ENABLED`; MEDIA follows from media
    fields and TEST_TIME_AUGMENTATION from declared augmentations."""
    disabled = {kind.capability for kind in ShapleyKind if kind not in shapley}
    derived = set()
    if scorer.schema.media_fields:
        derived.add(Capability.MEDIA)
    if scorer.schema.augmentations:
        derived.add(Capability.TEST_TIME_AUGMENTATION)
    return frozenset(scorer.capabilities - disabled) | derived


class ScoringService:
    """One loaded model plus the request-independent facts derived from it and the settings."""

    def __init__(self, scorer: Scorer, settings: Settings) -> None:
        self.scorer = scorer
        self.schema = scorer.schema
        self.model_id = settings.model_id or scorer.info.artifact_id or scorer.info.name
        self.capabilities = effective_capabilities(scorer, settings.shapley_kinds)
        missing = frozenset(settings.missing_values) | frozenset(scorer.schema.missing_values)
        self.read_options = ReadOptions(missing, settings.invalid_numbers_as_missing)
        self.numeric_rows = self.read_options.numeric_fast_path and all(
            f.data_type.is_numeric for f in self.schema.inputs
        )
        """Rows may be read straight into floats: every input is a number and no missing token
        is itself a number (a text cell or a missing token still reads, by the general path)."""
        self.max_rows = settings.max_rows
        self.inline_rows = settings.inline_rows
        self.inline_budget = settings.inline_budget_ms / 1000
        self.score_cost = RowCost()
        self.timeout = settings.request_timeout
        self.max_in_flight = settings.max_in_flight
        self._in_flight = 0
        self._arrived = 0
        self._limiter = anyio.CapacityLimiter(settings.scoring_threads)
        self._batcher_rows = settings.batch_max_rows
        self._batcher = (
            MicroBatcher(scorer.score, settings.batch_max_rows, settings.batch_max_wait_ms / 1000, self._limiter)
            if settings.batch_max_rows
            else None
        )

    async def run(self, work: Callable[[], T], rows: int, cost: RowCost | None = None) -> T:
        """Small batches are scored on the event loop (a thread hop costs more than they do), and
        so is a larger one whose `cost` so far predicts it within `inline_budget`; the rest queue
        for a scoring thread. Past `max_in_flight` requests are shed, so a flood cannot hold
        unbounded bodies in memory, and a batch past `timeout` is answered 503."""
        with self._admitted():
            if rows <= self.inline_rows:
                return work()
            if cost is not None:
                inline = cost.predict(rows) <= self.inline_budget
                work = cost.measured(work, rows)
                if inline:
                    return work()
            if self.timeout is None:
                return await anyio.to_thread.run_sync(work, limiter=self._limiter)
            try:
                with anyio.fail_after(self.timeout):
                    return await anyio.to_thread.run_sync(work, limiter=self._limiter, abandon_on_cancel=True)
            except TimeoutError:
                raise Overloaded(
                    f"Scoring took longer than the {self.timeout:g} s limit (SCORER_REQUEST_TIMEOUT)."
                ) from None

    @contextmanager
    def arrived(self) -> Iterator[None]:
        """Held by a scoring route from before its body is read: requests whose bodies are still
        arriving are the ones a micro-batch could wait for."""
        self._arrived += 1
        try:
            yield
        finally:
            self._arrived -= 1

    @contextmanager
    def _admitted(self) -> Iterator[None]:
        """Counts a request in flight; past `max_in_flight` it is shed with 503 and Retry-After."""
        if self._in_flight >= self.max_in_flight:
            raise Overloaded(f"The server is scoring {self._in_flight} requests already; retry shortly.")
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1

    def score(self, request: ScoreRequest) -> dict[str, Any]:
        prepared = self._prepare(request)
        result = self._call(lambda: self.scorer.score(prepared.frame, intervals=request.request_prediction_intervals))
        return self._respond(request, prepared, result)

    async def score_request(self, request: ScoreRequest) -> dict[str, Any]:
        """The route's entry point: plain small requests join a micro-batch when batching is on."""
        plain = not (
            request.request_prediction_intervals
            or request.request_test_time_augmentation
            or request.request_shapley_value_type != "NONE"
        )
        if self._batcher is None or not plain or len(request.rows) > self._batcher_rows:
            return await self.run(lambda: self.score(request), len(request.rows), self.score_cost)
        with self._admitted():
            prepared = self._prepare(request)
            await anyio.sleep(0)  # lets requests that arrived meanwhile register, so they can join
            try:
                result = await self._batcher.score(prepared.frame, alone=self._arrived <= 1)
            except Exception as exc:
                raise self._model_error(exc) from exc
            return self._respond(request, prepared, result)

    def score_media(self, request: MediaScoreRequest, files: dict[str, bytes]) -> dict[str, Any]:
        """Replace each media cell (a file name) by the uploaded file's bytes, then score."""
        rows = attach_media(request.fields, request.rows, request.media_fields, self.schema, files)
        return self.score(request.model_copy(update={"rows": rows}))

    def _prepare(self, request: ScoreRequest) -> _Prepared:
        """Everything about a request that can be wrong is found here, before any model call."""
        kind = self._requested_shapley(request.request_shapley_value_type, required=False)
        if request.request_prediction_intervals:
            self._require(Capability.SCORE_PREDICTION_INTERVAL, "prediction intervals")
        if request.request_test_time_augmentation:
            self._require(Capability.TEST_TIME_AUGMENTATION, "test-time augmentation")
        check_table(request.fields, request.rows, self.schema, self.max_rows)
        plan = output_plan(request.fields, request.include_fields_in_output, request.id_field)
        frame, columns = to_frame(request.fields, request.rows, self.schema, self.read_options)
        if self.schema.media_kind == "image":
            check_images(frame, self.schema.media_fields)
        return _Prepared(frame, columns, plan, kind)

    def _respond(self, request: ScoreRequest, prepared: _Prepared, result: ScoreResult) -> dict[str, Any]:
        frame = prepared.frame
        predictions = self._checked(result.predictions, frame.rows, len(self.schema.outputs), "predictions")
        if request.request_test_time_augmentation:
            predictions = self._augmented_mean(frame, predictions)
        contributions = self._contributions(frame, prepared.kind) if prepared.kind else None
        columns, plan = prepared.columns, prepared.plan
        out_columns = [generated_ids(frame.rows) if i == GENERATED_ID else echo_column(columns[i]) for i in plan]
        out_columns += format_numbers(predictions)
        body: dict[str, Any] = {"id": self.model_id}
        if not request.no_field_names_in_output:
            body["fields"] = planned_names(request.fields, plan, request.id_field) + list(self.schema.output_names)
        body["score"] = assemble_rows(out_columns)
        if contributions is not None:
            body["featureShapleyContributions"] = contributions
        if request.request_prediction_intervals:
            bounds = self._checked(result.intervals, frame.rows, 2, "prediction intervals")
            target = self.schema.target_name
            body["predictionIntervals"] = {
                "fields": [f"{target}.lower", f"{target}.upper"],
                "rows": assemble_rows(format_numbers(bounds)),
            }
        return body

    def _augmented_mean(self, frame: Frame, identity: np.ndarray) -> np.ndarray:
        """The mean of the outputs over every declared augmentation of the image cells."""
        total = np.zeros_like(identity)
        for name in self.schema.augmentations:
            if name == "identity":
                total += identity
                continue
            augmented = augmented_frame(frame, self.schema.media_fields, name)
            result = self._call(lambda augmented=augmented: self.scorer.score(augmented))
            total += self._checked(result.predictions, frame.rows, identity.shape[1], "predictions")
        return total / len(self.schema.augmentations)

    def contribution(self, request: ContributionRequest) -> dict[str, Any]:
        kind = self._requested_shapley(request.request_shapley_value_type, required=True)
        check_table(request.fields, request.rows, self.schema, self.max_rows)
        frame, _ = to_frame(request.fields, request.rows, self.schema, self.read_options)
        return self._contributions(frame, kind)

    def sample_request(self) -> dict[str, Any]:
        return sample_request(self.schema)

    def self_check(self) -> bool:
        """Score the sample request, as `/readyz` promises; a failure is logged, not raised."""
        if self.schema.media_fields:
            return True
        try:
            self.score(ScoreRequest.model_validate(self.sample_request()))
        except Exception as exc:
            detail = exc.detail if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc}"
            log.error("self-check: the model could not score its sample request: %s", detail)
            return False
        return True

    def schema_document(self) -> dict[str, Any]:
        schema = self.schema
        info = self.scorer.info
        media = ", media fields: " + ", ".join(schema.media_fields) if schema.media_fields else ""
        return {
            "id": self.model_id,
            "name": info.name,
            "description": info.description + media,
            "properties": {
                "scoringType": schema.scoring_type.value,
                "scoringResponLabels": list(schema.class_labels),
            },
            "schema": {
                "inputFields": [_data_field(f) for f in schema.inputs],
                "targetFields": [_data_field(f) for f in schema.targets],
                "outputFields": [_data_field(f) for f in schema.outputs],
            },
        }

    def _contributions(self, frame: Frame, kind: ShapleyKind) -> dict[str, Any]:
        result: Contributions = self._call(lambda: self.scorer.contributions(frame, kind))
        width = len(result.features)
        groups = []
        for group in result.groups:
            values = self._checked(group.values, frame.rows, width, "Shapley contributions")
            entry: dict[str, Any] = {"contributions": assemble_rows(format_numbers(values))}
            if group.output_group is not None:
                entry = {"outputGroup": group.output_group, **entry}
            groups.append(entry)
        return {"features": list(result.features), "contributionGroups": groups}

    def _requested_shapley(self, value: str, *, required: bool) -> ShapleyKind | None:
        if value == "NONE":
            if required:
                raise BadRequest(
                    "'requestShapleyValueType' must be ORIGINAL or TRANSFORMED on /model/contribution; "
                    f"this model supports {self._supported_shapley()}."
                )
            return None
        kind = ShapleyKind(value)
        if kind.capability not in self.capabilities:
            raise BadRequest(
                f"This model does not offer {kind.value} Shapley values; it supports {self._supported_shapley()}."
            )
        return kind

    def _supported_shapley(self) -> str:
        kinds = [k.value for k in ShapleyKind if k.capability in self.capabilities]
        return " and ".join(kinds) if kinds else "none"

    def _require(self, capability: Capability, what: str) -> None:
        if capability not in self.capabilities:
            offered = ", ".join(sorted(c.value for c in self.capabilities))
            raise BadRequest(f"This model does not offer {what}; its capabilities are {offered}.")

    def _call(self, work: Callable[[], T]) -> T:
        """Run model code: input problems it reports are 400, anything else is the model's failure."""
        try:
            return work()
        except Exception as exc:
            raise self._model_error(exc) from exc

    @staticmethod
    def _model_error(exc: Exception) -> ApiError:
        if isinstance(exc, ApiError):
            return exc
        if isinstance(exc, InputError):
            return BadRequest(str(exc))
        log.error("the model failed on a valid request", exc_info=exc)
        return ModelFailed(f"The model failed to score this request ({type(exc).__name__}).")

    @staticmethod
    def _checked(matrix: np.ndarray | None, rows: int, columns: int, what: str) -> np.ndarray:
        if matrix is None or matrix.shape != (rows, columns):
            shape = None if matrix is None else matrix.shape
            log.error("runtime returned %s of shape %s, expected %s", what, shape, (rows, columns))
            raise ModelFailed(f"The model returned {what} of the wrong shape.")
        return matrix


def _data_field(field: Any) -> dict[str, str]:
    return {"name": field.name, "dataType": field.data_type.value}
