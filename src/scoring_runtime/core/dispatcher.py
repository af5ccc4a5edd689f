"""Where and when a model's work runs: admission, the event loop or a thread, time limits.

A thread hop costs about 0.3 ms, more than scoring a few rows of most models, so a small score
request runs on the event loop once the model has been measured to finish one within a budget (a
small explanation always does); so does larger scoring measured to finish within the budget.
Everything else waits for one of a bounded number of scoring threads. Past the in-flight limit a
request is shed at once, so a flood cannot hold unbounded work in memory.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, TypeVar

import anyio

from scoring_runtime.core.costs import RowCost
from scoring_runtime.core.errors import Overloaded

if TYPE_CHECKING:
    from scoring_runtime.settings import ModelSettings

T = TypeVar("T")


class Work(enum.Enum):
    """What kind of work a request brings, which decides where it may run."""

    SCORE = "score"
    """Scoring: inline when small, or when its measured cost fits the inline budget."""
    EXPLAIN = "explain"
    """Shapley values: inline only when small (their cost varies too much to predict)."""
    BLOCKING = "blocking"
    """Reads files or decodes media: always on a thread."""


class Dispatcher:
    def __init__(self, settings: ModelSettings) -> None:
        self.inline_rows = settings.inline_rows
        self.inline_budget = settings.inline_budget_ms / 1000
        self.timeout = settings.request_timeout
        self.max_in_flight = settings.max_in_flight
        self.admission_wait = settings.admission_wait
        self._places = anyio.Semaphore(settings.max_in_flight)
        self.limiter = anyio.CapacityLimiter(settings.scoring_threads)
        self.score_cost = RowCost()
        self.small_cost = RowCost()
        """Seconds per small (inline-sized) score request, apart: a per-row cost learnt from big
        requests says little about the fixed cost of a small one."""
        self._in_flight = 0
        self.receiving = 0
        """Requests whose bodies are still arriving: the ones a micro-batch could wait for."""

    async def run(self, work: Callable[[], T], rows: int, kind: Work) -> T:
        with self.admitted():
            if kind is Work.SCORE and rows <= self.inline_rows:
                # A small request of a slow model (a forest not compiled, a model source that
                # calls out) kept the loop, and every other request, waiting for it; measured per
                # request, it runs inline once it is known to fit the budget (0: always inline).
                work = self.small_cost.measured(work, 1)
                if not self.inline_budget or self.small_cost.predict(1) <= self.inline_budget:
                    return work()
                return await self.in_thread(work)
            if kind is Work.EXPLAIN and rows <= self.inline_rows:
                return work()
            if kind is Work.SCORE:
                inline = self.score_cost.predict(rows) <= self.inline_budget
                work = self.score_cost.measured(work, rows)
                if inline:
                    return work()
            return await self.in_thread(work)

    async def in_thread(self, work: Callable[[], T]) -> T:
        """`work` on a scoring thread, answered 503 past the time limit."""
        if self.timeout is None:
            return await anyio.to_thread.run_sync(work, limiter=self.limiter)
        try:
            with anyio.fail_after(self.timeout):
                return await anyio.to_thread.run_sync(work, limiter=self.limiter, abandon_on_cancel=True)
        except TimeoutError:
            raise Overloaded(
                f"Scoring took longer than the {self.timeout:g} s limit (SCORER_REQUEST_TIMEOUT)."
            ) from None

    @asynccontextmanager
    async def arrival(self) -> AsyncIterator[None]:
        """Held from before a request's body is read until it is answered. Past `max_in_flight`
        the request waits up to `admission_wait` for a place, then is shed, its body unread:
        under a flood, reading and parsing bodies only to refuse them cost as much as scoring
        them, and refusing at once invites the next refused request at once."""
        if not await self._place():
            raise Overloaded(f"The server is handling {self.receiving} requests already; retry shortly.")
        self.receiving += 1
        try:
            yield
        finally:
            self.receiving -= 1
            self._places.release()

    async def _place(self) -> bool:
        """A place now, or within `admission_wait`."""
        try:
            self._places.acquire_nowait()
            return True
        except anyio.WouldBlock:
            pass
        with anyio.move_on_after(self.admission_wait):
            await self._places.acquire()
            return True
        return False

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Counts a request in flight; past `max_in_flight` it is shed."""
        if self._in_flight >= self.max_in_flight:
            raise Overloaded(f"The server is scoring {self._in_flight} requests already; retry shortly.")
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
