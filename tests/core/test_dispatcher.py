"""Admission: a request past the in-flight limit waits for a place, then is shed."""

from __future__ import annotations

import asyncio
import time

import pytest

from scoring_runtime.core.dispatcher import Dispatcher, Work
from scoring_runtime.core.errors import Overloaded
from scoring_runtime.settings import ModelSettings


def _dispatcher(**settings: object) -> Dispatcher:
    return Dispatcher(ModelSettings(_env_file=None, **settings))


async def _hold(dispatcher: Dispatcher, seconds: float) -> float:
    """Holds a place for `seconds`; returns when it got it."""
    async with dispatcher.arrival():
        got = time.monotonic()
        await asyncio.sleep(seconds)
    return got


def test_a_request_past_the_limit_gets_the_place_that_frees_within_its_wait():
    dispatcher = _dispatcher(max_in_flight=1, admission_wait=2.0)

    async def both() -> list[float]:
        return await asyncio.gather(_hold(dispatcher, 0.2), _hold(dispatcher, 0.0))

    started = time.monotonic()
    first, second = asyncio.run(both())
    assert first - started < 0.1
    assert 0.15 < second - started < 1.0
    assert dispatcher.receiving == 0


def test_a_request_past_the_limit_is_shed_once_its_wait_is_over():
    dispatcher = _dispatcher(max_in_flight=2, admission_wait=0.2)

    async def flood() -> list[object]:
        return await asyncio.gather(*(_hold(dispatcher, 0.6) for _ in range(5)), return_exceptions=True)

    started = time.monotonic()
    answers = asyncio.run(flood())
    shed = [a for a in answers if isinstance(a, Overloaded)]
    assert len(shed) == 3 and "retry shortly" in str(shed[0])
    assert time.monotonic() - started < 1.0
    assert dispatcher.receiving == 0


def test_no_wait_sheds_at_once():
    dispatcher = _dispatcher(max_in_flight=1, admission_wait=0)

    async def two() -> None:
        async with dispatcher.arrival():
            with pytest.raises(Overloaded):
                async with dispatcher.arrival():
                    pass

    asyncio.run(two())
    assert dispatcher.receiving == 0


def _where(dispatcher: Dispatcher, seconds: float, rows: int = 1) -> bool:
    """Whether one score request of `seconds` ran on the event loop's thread."""
    import threading

    async def one() -> bool:
        loop_thread = threading.current_thread()

        def work() -> bool:
            time.sleep(seconds)
            return threading.current_thread() is loop_thread

        return await dispatcher.run(work, rows, Work.SCORE)

    return asyncio.run(one())


def test_small_requests_run_inline_only_once_measured_within_the_budget():
    fast = _dispatcher(inline_budget_ms=5)
    assert [_where(fast, 0) for _ in range(3)] == [False, True, True]  # unknown at first: a thread
    slow = _dispatcher(inline_budget_ms=5)
    assert [_where(slow, 0.02) for _ in range(3)] == [False, False, False]


def test_a_model_turning_slow_leaves_the_loop_and_returns_when_fast_again():
    dispatcher = _dispatcher(inline_budget_ms=5)
    assert [_where(dispatcher, 0) for _ in range(2)] == [False, True]
    assert _where(dispatcher, 0.2)  # ran inline: it was fast until now
    assert not _where(dispatcher, 0)  # the slow one moved the estimate past the budget
    assert [_where(dispatcher, 0) for _ in range(12)][-1]


def test_no_budget_keeps_small_requests_inline():
    dispatcher = _dispatcher(inline_budget_ms=0)
    assert [_where(dispatcher, 0.01) for _ in range(2)] == [True, True]
