"""Prometheus metrics: requests by route, status, deployment and model, latency, rows scored,
model failures, load time, and how each challenger compares with its champion.

Each app owns its registry (no module-global state); with several workers the values live in
the metrics directory (`PROMETHEUS_MULTIPROC_DIR`, which prometheus_client reads itself), and are
summed across workers when scraped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from scoring_runtime.deployments.shadow import Comparison

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self, shared_dir: Path | None = None) -> None:
        """`shared_dir`: the workers' metrics directory, when several workers serve."""
        self.shared_dir = shared_dir
        self.registry = CollectorRegistry()
        answered = ["deployment", "model"]
        self.requests = Counter(
            "scorer_requests",
            "Requests by route, status, deployment and the model that answered ('' where none did).",
            ["route", "status", *answered],
            registry=self.registry,
        )
        self.latency = Histogram(
            "scorer_request_duration_seconds",
            "Request latency by route, deployment and model.",
            ["route", *answered],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.rows = Counter("scorer_rows_scored", "Rows scored.", answered, registry=self.registry)
        self.challengers = ChallengerMetrics(self.registry)
        self.failures = Counter(
            "scorer_scoring_errors", "Failed scoring requests by kind.", ["kind"], registry=self.registry
        )
        self.load_seconds = Gauge(
            "scorer_model_load_seconds",
            "Seconds the model took to load.",
            registry=self.registry,
            multiprocess_mode="max",
        )
        self._children: dict[tuple[str, str, str, str], tuple[Any, Any]] = {}
        self._rows_children: dict[tuple[str, str], Any] = {}

    def answered(self, route: str, status: str, deployment: str, model: str, seconds: float, rows: int) -> None:
        """One finished request: counted, timed, and its rows (0 when none were scored). The
        labelled children are kept per label set: prometheus_client's `labels()` checks and
        looks them up on every call, three times a request. A rows series exists only once
        rows were scored under its labels, as with `labels()` alone."""
        key = (route, status, deployment, model)
        children = self._children.get(key)
        if children is None:
            children = self.requests.labels(*key), self.latency.labels(route, deployment, model)
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        if rows:
            scored = self._rows_children.get((deployment, model))
            if scored is None:
                scored = self._rows_children[deployment, model] = self.rows.labels(deployment, model)
            scored.inc(rows)

    def render(self) -> bytes:
        if self.shared_dir is not None:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=str(self.shared_dir))
            return generate_latest(registry)
        return generate_latest(self.registry)


class ChallengerMetrics:
    """`scorer_challenger_*{deployment,model}`: counters, so they sum across workers; the mean
    absolute difference is `abs_diff_sum / compared_cells`, the agreement `agreed_rows / compared_rows`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["deployment", "model"]

        def counter(name: str, text: str) -> Counter:
            return Counter(f"scorer_challenger_{name}", text, labels, registry=registry)

        self._scored = counter("scored", "Requests a challenger scored.")
        self._skipped = counter("skipped", "Requests skipped for a challenger because its queue was full.")
        self._failed = counter("failed", "Requests a challenger failed to score.")
        self._diff = counter("abs_diff_sum", "Sum of absolute differences of its outputs from the champion's.")
        self._cells = counter("compared_cells", "Output cells compared with the champion's.")
        self._agreed = counter("agreed_rows", "Rows whose most probable class agrees with the champion's.")
        self._rows = counter("compared_rows", "Classifier rows compared with the champion's.")
        self._latency = Histogram(
            "scorer_challenger_duration_seconds",
            "Challenger scoring time.",
            labels,
            buckets=_BUCKETS,
            registry=registry,
        )

    def scored(self, deployment: str, model: str, comparison: Comparison) -> None:
        self._scored.labels(deployment, model).inc()
        self._latency.labels(deployment, model).observe(comparison.seconds)
        self._diff.labels(deployment, model).inc(comparison.abs_diff_sum)
        self._cells.labels(deployment, model).inc(comparison.cells)
        if comparison.agreed_rows is not None:
            self._agreed.labels(deployment, model).inc(comparison.agreed_rows)
            self._rows.labels(deployment, model).inc(comparison.rows)

    def skipped(self, deployment: str, model: str) -> None:
        self._skipped.labels(deployment, model).inc()

    def failed(self, deployment: str, model: str) -> None:
        self._failed.labels(deployment, model).inc()
