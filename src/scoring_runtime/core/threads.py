"""Native thread pools sized for a server: OpenMP and BLAS threads per scoring call.

A library's own default is one thread per core for every call, which suits one process scoring
one big batch; in a server, concurrent small requests already keep the cores busy, and each
call's pool of spinning OpenMP threads then fights the others and the event loop
(HistGradientBoosting's single-row p50 was 1.8x MLServer's on 2 cores). So a small call gets the
budget (one thread by default). A large call is different: one 1,000-row HistGradientBoosting
or LightGBM request on one thread took 1.4-2.4x MLServer's time, which lets the library use both
cores; a call of `LARGE_ROWS` or more gets the worker's share of the cores for its duration.
OpenMP's setting is per thread, so each thread that scores applies the budget once, on its first
call (`threadpoolctl`).

Large calls all run on one thread of the process, the wide thread. OpenMP (libgomp) keeps a team
of threads for every thread that has ever run a parallel region, and once it manages more threads
than there are cores it stops spinning at its barriers and sleeps instead: a HistGradientBoosting
predict, a parallel region per tree, then took 10.5 ms for 1,000 rows instead of 4.5 as soon as a
second thread had used a team (the model's checks at load on the main thread were enough). With
one wide thread, which also runs the loads (`load`), and every other thread held to one OpenMP
thread, the process never holds more teams than that one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

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

    def run(self, rows: int, work: Callable[[], T]) -> T:
        """`work`, one model call of `rows` rows, within the budget: on the calling thread, or on
        the wide thread for a large call."""
        self._apply()
        if self.large_threads is None or rows < LARGE_ROWS or _on_wide_thread():
            return work()
        return _wide_thread().submit(self._wide, work).result()

    def load(self, work: Callable[[], T]) -> T:
        """`work`, a model's load, on the wide thread: the load's checks score rows, and an
        OpenMP team made for them stays with the thread that made it (libgomp keeps it even after
        that thread ends). A large call waits for a load in progress; loads are rare."""
        if self.large_threads is None or _on_wide_thread():
            return work()
        return _wide_thread().submit(work).result()

    def _wide(self, work: Callable[[], T]) -> T:
        with self._libraries().limit(limits=self.large_threads):
            return work()

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


_WIDE: tuple[int, ThreadPoolExecutor] | None = None
_WIDE_LOCK = threading.Lock()


def _wide_thread() -> ThreadPoolExecutor:
    """The process's one thread for large calls, made on first use (again in a forked child,
    where the parent's thread does not exist)."""
    global _WIDE
    with _WIDE_LOCK:
        if _WIDE is None or _WIDE[0] != os.getpid():
            _WIDE = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="scorer-wide"))
        return _WIDE[1]


def _on_wide_thread() -> bool:
    return threading.current_thread().name.startswith("scorer-wide")
