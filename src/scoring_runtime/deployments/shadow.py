"""Challengers: models that score the champion's rows in the shadow and are compared with it.

Each challenger has one thread and a bounded queue. The request path only offers the frame it
already read and the champion's predictions (a non-blocking put); a full queue skips that
request for that challenger. Nothing a challenger does can reach the champion's response.
"""

from __future__ import annotations

import logging
import queue
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from scoring_runtime.core.frame import Frame
from scoring_runtime.core.model import ServedModel
from scoring_runtime.core.types import ScoringType

log = logging.getLogger("scorer")
LATENCY_WINDOW = 1024
"""Recent challenger latencies the p50 is taken over."""
FAILURE_LOG_SECONDS = 60.0


@dataclass(frozen=True)
class Comparison:
    """One request scored by a challenger, against the champion's answer for the same rows."""

    seconds: float
    rows: int
    cells: int
    """Output cells compared (0 when the two models' outputs differ in shape)."""
    abs_diff_sum: float
    agreed_rows: int | None
    """Rows whose most probable class agrees; None for a regression."""


class ShadowObserver(Protocol):
    """Where challenger outcomes are counted beyond the challenger itself (the server's metrics)."""

    def scored(self, deployment: str, model: str, comparison: Comparison) -> None: ...

    def skipped(self, deployment: str, model: str) -> None: ...

    def failed(self, deployment: str, model: str) -> None: ...


@dataclass
class _Figures:
    scored: int = 0
    skipped: int = 0
    failed: int = 0
    diff_sum: float = 0.0
    diff_cells: int = 0
    agreed_rows: int = 0
    compared_rows: int = 0


class ShadowScorer(Protocol):
    """How a challenger's model scores a frame: in a process of its own (`ShadowProcess`), or on
    the challenger's thread (`InProcess`)."""

    def warm(self) -> None: ...

    def score(self, frame: Frame) -> np.ndarray: ...

    def close(self) -> None: ...


class InProcess:
    """The challenger's model as the server holds it, scored on the challenger's thread: for a
    registry without a server around it (a reload may swap the model between two requests)."""

    def __init__(self, hold: Callable[[str], AbstractContextManager[ServedModel]], name: str) -> None:
        self._hold = hold
        self._name = name

    def warm(self) -> None:
        pass

    def score(self, frame: Frame) -> np.ndarray:
        with self._hold(self._name) as model:
            return model.score_now(frame).predictions

    def close(self) -> None:
        pass


class Challenger:
    def __init__(
        self, deployment: str, model: str, scorer: ShadowScorer, observer: ShadowObserver, queue_size: int
    ) -> None:
        self.deployment = deployment
        self.model = model
        self._scorer = scorer
        self._observer = observer
        self._queue: queue.Queue[tuple[Frame, np.ndarray, bool]] = queue.Queue(queue_size)
        self._figures = _Figures()
        self._latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._logged_at = -FAILURE_LOG_SECONDS
        self._thread = threading.Thread(target=self._run, name=f"challenger-{deployment}-{model}", daemon=True)

    def start(self) -> None:
        """Begin taking requests (once the registry serves the deployment: starting loads the model)."""
        self._thread.start()

    def offer(self, frame: Frame, champion: np.ndarray, classifier: bool) -> None:
        try:
            self._queue.put_nowait((frame, champion, classifier))
        except queue.Full:
            with self._lock:
                self._figures.skipped += 1
            self._observer.skipped(self.deployment, self.model)

    def report(self) -> dict[str, Any]:
        """The figures `GET /<deployment>/model/challengers` lists for this challenger."""
        with self._lock:
            figures, latencies = _Figures(**vars(self._figures)), list(self._latencies)
        return {
            "model": self.model,
            "scored": figures.scored,
            "skipped": figures.skipped,
            "failed": figures.failed,
            "meanAbsDiff": figures.diff_sum / figures.diff_cells if figures.diff_cells else None,
            "agreement": figures.agreed_rows / figures.compared_rows if figures.compared_rows else None,
            "latencyMsP50": round(statistics.median(latencies) * 1000, 3) if latencies else None,
        }

    def close(self) -> None:
        """Stop: what is still queued is dropped (a shadow comparison is not worth delaying a
        shutdown or a swap for), the one in progress finishes within a few seconds or is left."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._scorer.close()

    def _log_failure(self, exc: Exception) -> None:
        """The first failure, then at most one line a minute with the count: a challenger that
        fails on every request must not write a log line per request."""
        now = time.monotonic()
        if now - self._logged_at < FAILURE_LOG_SECONDS:
            return
        self._logged_at = now
        failed = self._figures.failed
        detail = getattr(exc, "detail", exc)
        log.warning("challenger %s of %s failed (%d so far): %s", self.model, self.deployment, failed, detail)

    def _items(self) -> Iterator[tuple[Frame, np.ndarray, bool]]:
        while not self._stopping.is_set():
            try:
                yield self._queue.get(timeout=0.25)
            except queue.Empty:
                continue

    def _run(self) -> None:
        try:
            self._scorer.warm()
        except Exception as exc:  # the first request will try again, and be counted
            log.warning(
                "challenger %s of %s did not start: %s", self.model, self.deployment, getattr(exc, "detail", exc)
            )
        for frame, champion, classifier in self._items():
            started = time.perf_counter()
            try:
                predictions = self._scorer.score(frame)
            except Exception as exc:
                with self._lock:
                    self._figures.failed += 1
                self._observer.failed(self.deployment, self.model)
                self._log_failure(exc)
                continue
            comparison = _compare(time.perf_counter() - started, champion, predictions, classifier)
            with self._lock:
                figures = self._figures
                figures.scored += 1
                self._latencies.append(comparison.seconds)
                figures.diff_sum += comparison.abs_diff_sum
                figures.diff_cells += comparison.cells
                if comparison.agreed_rows is not None:
                    figures.agreed_rows += comparison.agreed_rows
                    figures.compared_rows += comparison.rows
            self._observer.scored(self.deployment, self.model, comparison)


def is_classifier(model: ServedModel) -> bool:
    return model.schema.scoring_type is not ScoringType.REGRESSION and len(model.schema.outputs) > 1


def _compare(seconds: float, champion: np.ndarray, challenger: np.ndarray, classifier: bool) -> Comparison:
    """Outputs are compared cell by cell only when both models give the same outputs; a missing
    value on either side is left out of the difference."""
    rows = champion.shape[0]
    if champion.shape != challenger.shape:
        return Comparison(seconds, rows, 0, 0.0, None)
    try:
        a, b = np.asarray(champion, dtype=np.float64), np.asarray(challenger, dtype=np.float64)
    except (TypeError, ValueError):  # text outputs: nothing to subtract
        return Comparison(seconds, rows, 0, 0.0, None)
    diff = np.abs(a - b)
    present = ~np.isnan(diff)
    agreed = int(np.sum(np.argmax(a, axis=1) == np.argmax(b, axis=1))) if classifier else None
    return Comparison(seconds, rows, int(present.sum()), float(diff[present].sum()), agreed)


class _Unobserved:
    """For a registry nobody scrapes (the start-up check of a multi-worker server)."""

    def scored(self, deployment: str, model: str, comparison: Comparison) -> None:
        pass

    def skipped(self, deployment: str, model: str) -> None:
        pass

    def failed(self, deployment: str, model: str) -> None:
        pass


NO_SHADOW: ShadowObserver = _Unobserved()
