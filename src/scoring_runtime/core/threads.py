"""Native thread pools sized for a server: OpenMP and BLAS threads per scoring thread.

A library's own default is one thread per core for every call, which suits one process scoring
one big batch; in a server, concurrent requests already keep the cores busy, and each call's
pool of spinning OpenMP threads then fights the others and the event loop
(HistGradientBoosting's single-row p50 was 1.8x MLServer's on 2 cores). OpenMP's setting is per
thread, so each thread that scores applies the budget once, on its first call (`threadpoolctl`).
"""

from __future__ import annotations

import threading


class ThreadBudget:
    def __init__(self, threads: int) -> None:
        """`threads`: OpenMP/BLAS threads per scoring call; 0 leaves the libraries' defaults."""
        self.threads = threads
        self._applied = threading.local()

    def apply(self) -> None:
        """Limit the calling thread's pools, once per thread (a lookup afterwards)."""
        if self.threads == 0 or getattr(self._applied, "done", False):
            return
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=self.threads)
        self._applied.done = True
