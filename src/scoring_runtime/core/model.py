"""A served model: one loaded `Scorer` plus what its settings decide, and the order of work for
one request (check what was asked, read, score, explain, check the shapes) that every protocol
and the batch reader share.

A protocol hands in a `Job`: how to decode its request into a frame and how to encode the result.
Where the job runs (event loop, thread, micro-batch) is decided here, never by a route.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
import numpy as np

from scoring_runtime.core import tracing
from scoring_runtime.core.batching import MicroBatcher
from scoring_runtime.core.columns import ReadOptions, read_frame
from scoring_runtime.core.dispatcher import Dispatcher, Work
from scoring_runtime.core.errors import InputError, InvalidInput, ModelFailed, RequestError
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.images import augmented_frame, check_images
from scoring_runtime.core.samples import sample_row
from scoring_runtime.core.scorer import Scorer
from scoring_runtime.core.threads import ThreadBudget, worker_share
from scoring_runtime.core.types import (
    Capability,
    ContributionGroup,
    Contributions,
    ModelSchema,
    ScoreResult,
    ShapleyKind,
)

if TYPE_CHECKING:
    from scoring_runtime.settings import ModelSettings

log = logging.getLogger("scorer")
P = TypeVar("P")
R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True)
class ScoreOptions:
    """What a request asks for beyond the predictions."""

    intervals: bool = False
    augment: bool = False
    """Average the outputs over the model's declared test-time augmentations."""
    shapley: ShapleyKind | None = None

    @property
    def plain(self) -> bool:
        return not (self.intervals or self.augment or self.shapley)


@dataclass(frozen=True)
class Scored:
    """A batch's answer, every matrix checked to have one row per input row."""

    predictions: np.ndarray
    intervals: np.ndarray | None = None
    contributions: Contributions | None = None


@dataclass(frozen=True)
class Job(Generic[P, R, T]):
    """One request as a protocol hands it to the model: `decode` turns it into the model's frame
    (and whatever the protocol keeps for its answer), `encode` turns the result into its answer."""

    rows: int
    decode: Callable[[], tuple[P, Frame]]
    encode: Callable[[P, R], T]
    options: ScoreOptions = ScoreOptions()
    blocking: bool = False
    """`decode` reads files or uploads, so the job never runs on the event loop."""


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


class ServedModel:
    def __init__(self, scorer: Scorer, settings: ModelSettings, name: str | None = None, workers: int = 1) -> None:
        """`name`: what the model is called where protocols name models (V2's `/v2/models/<name>`);
        `workers`: the server's worker processes, which share the cores."""
        self.scorer = scorer
        self.info = scorer.info
        self.name = settings.model_name or name or scorer.info.name
        self.version = settings.model_version
        self.model_id = settings.model_id or scorer.info.artifact_id or scorer.info.name
        self.capabilities = effective_capabilities(scorer, settings.shapley_kinds)
        missing = frozenset(settings.missing_values) | frozenset(scorer.schema.missing_values)
        self.read_options = ReadOptions(missing, settings.invalid_numbers_as_missing)
        self.numeric_inputs = (
            self.read_options.numeric_fast_path
            and not self.schema.free_form
            and all(f.data_type.is_numeric for f in self.schema.inputs)
        )
        """Cells may be read straight into floats: every input is a number and no missing token
        is itself a number (a text cell or a missing token still reads, by the general path)."""
        self.max_rows = settings.max_rows
        self.threads = thread_budget(settings, workers)
        self.dispatcher = Dispatcher(settings)
        self._batch_rows = settings.batch_max_rows
        self._batcher = (
            MicroBatcher(
                self._batch_score, settings.batch_max_rows, settings.batch_max_wait_ms / 1000, self.dispatcher.limiter
            )
            if settings.batch_max_rows
            else None
        )

    @property
    def schema(self) -> ModelSchema:
        """The scorer's, read each time: a model source without an output schema learns its
        output fields from its first output record."""
        return self.scorer.schema

    @asynccontextmanager
    async def arrival(self) -> AsyncIterator[None]:
        """Held by a protocol from before it reads a request's body: admission happens here, and
        requests still arriving are the ones a micro-batch could wait for."""
        async with self.dispatcher.arrival():
            yield

    def check(self, options: ScoreOptions) -> None:
        """Refuse what this model does not offer, before any work is done."""
        if options.shapley is not None and options.shapley.capability not in self.capabilities:
            raise InvalidInput(
                f"This model does not offer {options.shapley.value} Shapley values; it supports {self.shapley_offered()}."
            )
        if options.intervals:
            self._require(Capability.SCORE_PREDICTION_INTERVAL, "prediction intervals")
        if options.augment:
            self._require(Capability.TEST_TIME_AUGMENTATION, "test-time augmentation")

    def shapley_offered(self) -> str:
        """The Shapley types this model offers, for an error sentence."""
        kinds = [k.value for k in ShapleyKind if k.capability in self.capabilities]
        return " and ".join(kinds) if kinds else "none"

    async def score(self, job: Job[P, Scored, T]) -> T:
        """Run a scoring job where it costs least; plain small requests join a micro-batch when
        batching is on."""
        self.check(job.options)
        with tracing.span("score", self._span_attributes(job.rows, job.options)):
            return await self._dispatch(job)

    def _span_attributes(self, rows: int, options: ScoreOptions) -> dict[str, str | int | bool]:
        if not tracing.enabled():
            return {}
        found: dict[str, str | int | bool] = {"scorer.model": self.name, "scorer.rows": rows}
        if options.shapley is not None:
            found["scorer.shapley"] = options.shapley.value
        if options.intervals:
            found["scorer.intervals"] = True
        return found

    async def _dispatch(self, job: Job[P, Scored, T]) -> T:
        batched = self._batcher is not None and job.options.plain and not job.blocking
        if not batched or job.rows > self._batch_rows:
            kind = Work.BLOCKING if job.blocking else Work.SCORE
            return await self.dispatcher.run(lambda: self._score_job(job), job.rows, kind)
        assert self._batcher is not None
        with self.dispatcher.admitted():
            prepared, frame = job.decode()
            self._check_media(frame)
            await anyio.sleep(0)  # lets requests that arrived meanwhile register, so they can join
            try:
                result = await self._batcher.score(frame, alone=self.dispatcher.receiving <= 1)
            except Exception as exc:
                raise _model_error(exc) from exc
            return job.encode(prepared, self._scored(frame, result, job.options))

    async def explain(self, job: Job[P, Contributions, T], kind: ShapleyKind) -> T:
        """Run a job that asks for Shapley values only."""
        self.check(ScoreOptions(shapley=kind))

        def work() -> T:
            prepared, frame = job.decode()
            return job.encode(prepared, self.contributions(frame, kind))

        with tracing.span("explain", self._span_attributes(job.rows, ScoreOptions(shapley=kind))):
            return await self.dispatcher.run(work, job.rows, Work.BLOCKING if job.blocking else Work.EXPLAIN)

    @property
    def framework_model(self) -> object | None:
        return self.scorer.framework_model

    async def run_native(self, work: Callable[[Any], T]) -> T:
        """`work(framework_model)` under this model's admission and scoring threads: a protocol
        that answers through the framework's own code still queues like every other request."""
        with tracing.span("score", self._span_attributes(1, ScoreOptions())):
            return await self.dispatcher.run(lambda: work(self.scorer.framework_model), 1, Work.BLOCKING)

    def score_now(self, frame: Frame, options: ScoreOptions = ScoreOptions()) -> Scored:
        """Score on the calling thread (batch jobs, the self-check, and every dispatched job)."""
        self.check(options)
        self._check_media(frame)
        result = self.threads.run(
            frame.rows, lambda: _guarded(lambda: self.scorer.score(frame, intervals=options.intervals))
        )
        return self._scored(frame, result, options)

    def contributions(self, frame: Frame, kind: ShapleyKind) -> Contributions:
        result = self.threads.run(frame.rows, lambda: _guarded(lambda: self.scorer.contributions(frame, kind)))
        width = len(result.features)
        groups = tuple(
            ContributionGroup(_checked(g.values, frame.rows, width, "Shapley contributions"), g.output_group)
            for g in result.groups
        )
        return Contributions(result.features, groups)

    def self_check(self) -> bool:
        """Score the sample row, as readiness promises; a failure is logged, not raised. A media
        model without an input example has no scorable sample: loaded is ready."""
        if self.schema.media_fields and self.schema.example_row is None:
            return True
        if self.schema.free_form and not self.schema.inputs:
            return True  # nothing says what a record holds: a model source is ready once its init has run
        try:
            row = sample_row(self.schema)
            columns = {name: (value,) for name, value in zip(self.schema.input_names, row, strict=True)}
            self.score_now(read_frame(columns, 1, self.schema, self.read_options))
        except Exception as exc:
            detail = exc.detail if isinstance(exc, RequestError) else f"{type(exc).__name__}: {exc}"
            log.error("self-check: the model could not score its sample request: %s", detail)
            return False
        return True

    def close(self) -> None:
        self.scorer.close()

    def _batch_score(self, frame: Frame, *, intervals: bool = False) -> ScoreResult:
        return self.threads.run(frame.rows, lambda: self.scorer.score(frame, intervals=intervals))

    def _score_job(self, job: Job[P, Scored, T]) -> T:
        prepared, frame = job.decode()
        return job.encode(prepared, self.score_now(frame, job.options))

    def _check_media(self, frame: Frame) -> None:
        if self.schema.media_kind == "image":
            check_images(frame, self.schema.media_fields)

    def _scored(self, frame: Frame, result: ScoreResult, options: ScoreOptions) -> Scored:
        predictions = _checked(result.predictions, frame.rows, len(self.schema.outputs), "predictions")
        if options.augment:
            predictions = self._augmented_mean(frame, predictions)
        intervals = _checked(result.intervals, frame.rows, 2, "prediction intervals") if options.intervals else None
        contributions = self.contributions(frame, options.shapley) if options.shapley else None
        return Scored(predictions, intervals, contributions)

    def _augmented_mean(self, frame: Frame, identity: np.ndarray) -> np.ndarray:
        """The mean of the outputs over every declared augmentation of the image cells."""
        total = np.zeros_like(identity)
        for name in self.schema.augmentations:
            if name == "identity":
                total += identity
                continue
            augmented = augmented_frame(frame, self.schema.media_fields, name)
            result = _guarded(lambda augmented=augmented: self.scorer.score(augmented))
            total += _checked(result.predictions, frame.rows, identity.shape[1], "predictions")
        return total / len(self.schema.augmentations)

    def _require(self, capability: Capability, what: str) -> None:
        if capability not in self.capabilities:
            offered = ", ".join(sorted(c.value for c in self.capabilities))
            raise InvalidInput(f"This model does not offer {what}; its capabilities are {offered}.")


def thread_budget(settings: ModelSettings, workers: int = 1) -> ThreadBudget:
    """The OpenMP/BLAS threads a model's calls may use, as its settings and the server's workers say."""
    return ThreadBudget(settings.model_threads, settings.model_threads_large or worker_share(workers))


def _guarded(work: Callable[[], T]) -> T:
    """Run model code: input problems it reports are the caller's, anything else the model's failure."""
    try:
        return work()
    except Exception as exc:
        raise _model_error(exc) from exc


def _model_error(exc: Exception) -> RequestError:
    if isinstance(exc, RequestError):
        return exc
    if isinstance(exc, InputError):
        return InvalidInput(str(exc))
    log.error("the model failed on a valid request", exc_info=exc)
    return ModelFailed(f"The model failed to score this request ({type(exc).__name__}).")


def _checked(matrix: np.ndarray | None, rows: int, columns: int, what: str) -> np.ndarray:
    if matrix is None or matrix.shape != (rows, columns):
        shape = None if matrix is None else matrix.shape
        log.error("runtime returned %s of shape %s, expected %s", what, shape, (rows, columns))
        raise ModelFailed(f"The model returned {what} of the wrong shape.")
    return matrix
