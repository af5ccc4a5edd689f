"""Admission: a request past the in-flight limit waits for a place, then is shed."""

from __future__ import annotations

import asyncio
import time

import pytest

from scoring_runtime.core.dispatcher import Dispatcher
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
