"""Native thread pools sized for a server: OpenMP and BLAS threads per scoring call.

A library's own default is one thread per core for every call, which suits one process scoring
one big batch; in a server, concurrent small requests already keep the cores busy, and each
call's pool of spinning OpenMP threads then fights the others and the event loop
(HistGradientBoosting's single-row p50 was 1.8x MLServer's on 2 cores). So a small call gets the
budget (one thread by default). A large call is different: one 1,000-row HistGradientBoosting
or LightGBM request on one thread took 1.4-2.4x MLServer's time, which lets the library use both
cores; a call of `LARGE_ROWS` or more gets the worker's share of the cores for its duration.
OpenMP's setting is per thread, so each thread that scores applies the budget once, on its first
call, and a large call raises it and puts it back (`threadpoolctl`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

LARGE_ROWS = 512
"""From here a call's model work (~5 ms and up for a boosted model) outweighs starting threads."""


def worker_share(workers: int) -> int:
    """The cores one of `workers` server processes may call its own."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // max(1, workers))


class ThreadBudget:
    def __init__(self, threads: int, large_threads: int | None = None) -> None:
        """`threads`: OpenMP/BLAS threads per small scoring call, 0 leaves the libraries'
        defaults for every call; `large_threads`: per call of `LARGE_ROWS` rows or more
        (None: the same as small calls)."""
        self.threads = threads
        self.large_threads = large_threads if threads and large_threads and large_threads > threads else None
        self._applied = threading.local()
        self._controller: Any = None

    @contextlib.contextmanager
    def limited(self, rows: int) -> Iterator[None]:
        """The calling thread's pools limited for a call of `rows` rows."""
        self._apply()
        if self.large_threads is None or rows < LARGE_ROWS:
            yield
            return
        with self._libraries().limit(limits=self.large_threads):
            yield

    def _apply(self) -> None:
        if self.threads == 0 or getattr(self._applied, "done", False):
            return
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=self.threads)
        self._applied.done = True

    def _libraries(self) -> Any:
        """The loaded thread pools, found once (a scan of the loaded libraries, ~3 ms) on the
        first large call, after the model has loaded its own."""
        if self._controller is None:
            from threadpoolctl import ThreadpoolController

            self._controller = ThreadpoolController()
        return self._controller
