"""Micro-batching: concurrent small requests share model calls; every request keeps its own errors."""

from __future__ import annotations

import asyncio

import joblib
import numpy as np
import pytest

from scoring_runtime.core.errors import InvalidInput
from scoring_runtime.core.model import ServedModel
from scoring_runtime.protocols.h2o.wire import ScoreRequest
from scoring_runtime.runtimes import load_scorer
from tests.model_builders import CREDIT_CATEGORICAL, CREDIT_NUMERIC
from tests.served import score_async, serve

INPUTS = CREDIT_CATEGORICAL + CREDIT_NUMERIC


def _service(artifact, calls: list[int], **settings) -> ServedModel:
    """The real scorer, with its `score` wrapped to count the rows of each model call."""
    scorer = load_scorer(artifact)
    real = scorer.score

    def counting(frame, intervals=False):
        calls.append(frame.rows)
        return real(frame, intervals=intervals)

    scorer.score = counting
    return serve(scorer, shapley_types_enabled="NONE", **settings)


async def _all(service: ServedModel, requests: list[ScoreRequest]) -> list:
    """Requests arriving together, as the route handles them: reading a body yields to the others."""

    async def one(request: ScoreRequest) -> dict:
        async with service.arrival():
            await asyncio.sleep(0)
            return await score_async(service, request)

    return await asyncio.gather(*(one(r) for r in requests), return_exceptions=True)


def test_concurrent_requests_are_merged_and_answered_like_alone(credit_model, credit_frame):
    calls: list[int] = []
    service = _service(credit_model, calls, batch_max_rows=64, batch_max_wait_ms=50)
    rows = credit_frame[INPUTS].head(20)
    requests = [ScoreRequest(fields=INPUTS, rows=[rows.iloc[i].astype(str).tolist()]) for i in range(20)]
    answers = asyncio.run(_all(service, requests))
    assert calls == [20]
    got = np.array([a["score"][0] for a in answers], dtype=float)
    np.testing.assert_array_equal(got, joblib.load(credit_model).predict_proba(rows))


def test_a_full_batch_is_cut_without_waiting(credit_model, credit_frame):
    calls: list[int] = []
    service = _service(credit_model, calls, batch_max_rows=8, batch_max_wait_ms=10_000)
    rows = credit_frame[INPUTS].head(16).astype(str)
    requests = [ScoreRequest(fields=INPUTS, rows=[rows.iloc[i].tolist()]) for i in range(16)]
    answers = asyncio.run(asyncio.wait_for(_all(service, requests), timeout=5))
    assert calls == [8, 8] and all("score" in a for a in answers)


def test_a_lone_request_does_not_wait(credit_model, credit_frame):
    calls: list[int] = []
    service = _service(credit_model, calls, batch_max_rows=64, batch_max_wait_ms=60_000)
    request = ScoreRequest(fields=INPUTS, rows=[credit_frame[INPUTS].iloc[0].astype(str).tolist()])
    (answer,) = asyncio.run(asyncio.wait_for(_all(service, [request]), timeout=5))
    assert calls == [1] and len(answer["score"]) == 1 and service._batcher.batches == 0


def test_a_partial_batch_is_flushed_by_the_timer(credit_model, credit_frame):
    calls: list[int] = []
    service = _service(credit_model, calls, batch_max_rows=64, batch_max_wait_ms=5)
    rows = credit_frame[INPUTS].head(3).astype(str)
    requests = [ScoreRequest(fields=INPUTS, rows=[rows.iloc[i].tolist()]) for i in range(3)]
    answers = asyncio.run(asyncio.wait_for(_all(service, requests), timeout=5))
    assert calls == [3] and all(len(a["score"]) == 1 for a in answers)


def test_errors_stay_with_the_request_that_caused_them(pump_model):
    artifact, features = pump_model
    calls: list[int] = []
    service = _service(artifact, calls, batch_max_rows=64, batch_max_wait_ms=50)
    good = [ScoreRequest(fields=list(features.columns), rows=[features.iloc[i].astype(str).tolist()]) for i in range(4)]
    missing = ScoreRequest(fields=list(features.columns), rows=[["NA"] * features.shape[1]])  # the GBM rejects NaN
    not_a_number = ScoreRequest(fields=list(features.columns), rows=[["x"] * features.shape[1]])
    answers = asyncio.run(_all(service, [*good[:2], missing, not_a_number, *good[2:]]))
    assert isinstance(answers[2], InvalidInput) and "in row 0 is missing, and this model" in answers[2].detail
    assert isinstance(answers[3], InvalidInput) and "not a number" in answers[3].detail
    assert all("score" in a for a in (*answers[:2], *answers[4:]))
    assert calls[0] == 5 and calls[1:] == [1, 1, 1, 1, 1]  # merged call failed, then each alone


@pytest.mark.parametrize("flag", ["request_prediction_intervals", "request_test_time_augmentation"])
def test_requests_with_extras_never_join_a_batch(credit_model, credit_frame, flag):
    calls: list[int] = []
    service = _service(credit_model, calls, batch_max_rows=64, batch_max_wait_ms=50)
    request = ScoreRequest(fields=INPUTS, rows=[credit_frame[INPUTS].iloc[0].astype(str).tolist()], **{flag: True})
    (answer,) = asyncio.run(_all(service, [request]))
    assert isinstance(answer, InvalidInput) and calls == []  # refused before any model call, not batched
