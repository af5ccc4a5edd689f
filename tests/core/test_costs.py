"""Per-row cost estimates, and where the dispatcher runs a request because of them."""

from __future__ import annotations

import asyncio
import math
import threading
import time

import joblib
import numpy as np
import pytest

from scoring_runtime.core.costs import RowCost
from scoring_runtime.protocols.h2o.wire import ScoreRequest
from scoring_runtime.runtimes import load_scorer
from tests.model_builders import CREDIT_CATEGORICAL, CREDIT_NUMERIC
from tests.served import score_async, serve

INPUTS = CREDIT_CATEGORICAL + CREDIT_NUMERIC


def test_nothing_is_predicted_cheap_before_it_was_measured():
    assert RowCost().predict(1) == math.inf


def test_the_estimate_follows_measurements_without_being_owned_by_one():
    cost = RowCost()
    cost.observe(0.002, 1000)
    assert cost.predict(500) == pytest.approx(0.001)
    cost.observe(0.2, 1000)  # one slow outlier
    assert cost.per_row == pytest.approx(2e-6 + 0.2 * (2e-4 - 2e-6))
    for _ in range(60):
        cost.observe(0.002, 1000)
    assert cost.per_row == pytest.approx(2e-6, rel=1e-3)


def test_measured_work_times_itself_failures_included():
    cost = RowCost()
    assert cost.measured(lambda: time.sleep(0.01) or "done", 10)() == "done"
    assert cost.per_row >= 0.001

    def failing() -> None:
        time.sleep(0.05)
        raise ValueError("bad row")

    with pytest.raises(ValueError):
        cost.measured(failing, 10)()
    assert cost.per_row >= 0.001 + 0.2 * (0.005 - 0.001)


def _placements(artifact, frame, rows: int, requests: int, **settings) -> tuple[list[bool], list[dict]]:
    """Whether each request's model call ran on the event loop's thread, and the answers."""
    scorer = load_scorer(artifact)
    real = scorer.score
    on_loop: list[bool] = []
    loop_thread: list[int] = []

    def recording(frame, intervals=False):
        on_loop.append(threading.get_ident() == loop_thread[0])
        return real(frame, intervals=intervals)

    scorer.score = recording
    service = serve(scorer, shapley_types_enabled="NONE", **settings)
    request = ScoreRequest(fields=INPUTS, rows=frame[INPUTS].head(rows).astype(str).to_numpy().tolist())

    async def sequence() -> list[dict]:
        loop_thread.append(threading.get_ident())
        return [await score_async(service, request) for _ in range(requests)]

    return on_loop, asyncio.run(sequence())


def test_a_large_request_moves_to_the_loop_once_measured_within_budget(credit_model, credit_frame):
    on_loop, answers = _placements(credit_model, credit_frame, 200, 3, inline_budget_ms=1000)
    assert on_loop == [False, True, True]
    expected = joblib.load(credit_model).predict_proba(credit_frame[INPUTS].head(200))
    for answer in answers:
        np.testing.assert_array_equal(np.array(answer["score"], dtype=float), expected)


def test_over_budget_or_switched_off_a_large_request_stays_on_threads(credit_model, credit_frame):
    assert _placements(credit_model, credit_frame, 200, 3, inline_budget_ms=0.001)[0] == [False] * 3
    assert _placements(credit_model, credit_frame, 200, 3, inline_budget_ms=0)[0] == [False] * 3


def test_small_requests_stay_on_the_loop_whatever_the_budget(credit_model, credit_frame):
    assert _placements(credit_model, credit_frame, 16, 2, inline_budget_ms=0)[0] == [True, True]
