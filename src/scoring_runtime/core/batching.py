"""Adaptive micro-batching: concurrent small requests merged into one runtime call (opt-in).

Each request is checked and converted on its own, so its client errors stay its own; only the
model call is shared. A batch is cut when it holds `max_rows` rows or its first request has waited
`max_wait` seconds, whichever comes first; a request with no other in flight is scored at once, so
batching costs a lone client nothing. When a merged call fails, every request in it is scored
alone, so a model failure is reported to the request that caused it and to no other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
import numpy as np

from scoring_runtime.core.frame import Frame
from scoring_runtime.core.types import ScoreResult


@dataclass
class _Pending:
    frame: Frame
    future: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class MicroBatcher:
    def __init__(
        self, score: Callable[[Frame], ScoreResult], max_rows: int, max_wait: float, limiter: anyio.CapacityLimiter
    ) -> None:
        self._score = score
        self._max_rows = max_rows
        self._max_wait = max_wait
        self._limiter = limiter
        self._pending: list[_Pending] = []
        self._rows = 0
        self._timer: asyncio.TimerHandle | None = None
        self.batches = 0

    async def score(self, frame: Frame, *, alone: bool = False) -> ScoreResult:
        """`alone`: no other request is in flight, so there is nobody to wait for; score now."""
        if alone and not self._pending:
            return self._score(frame)
        item = _Pending(frame)
        self._pending.append(item)
        self._rows += frame.rows
        if self._rows >= self._max_rows:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._max_wait, self._flush)
        return await item.future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending, self._rows = self._pending, [], 0
        if batch:
            self.batches += 1
            asyncio.get_running_loop().create_task(self._run(batch))

    async def _run(self, batch: list[_Pending]) -> None:
        try:
            merged = Frame.concat([item.frame for item in batch])
            result = await anyio.to_thread.run_sync(self._score, merged, limiter=self._limiter)
        except Exception:
            await self._run_alone(batch)
            return
        offset = 0
        for item in batch:
            rows = slice(offset, offset + item.frame.rows)
            item.future.set_result(ScoreResult(np.ascontiguousarray(result.predictions[rows])))
            offset += item.frame.rows

    async def _run_alone(self, batch: list[_Pending]) -> None:
        for item in batch:
            try:
                item.future.set_result(await anyio.to_thread.run_sync(self._score, item.frame, limiter=self._limiter))
            except Exception as exc:
                item.future.set_exception(exc)
