"""Prometheus metrics: requests by route and status, latency, rows scored, model failures, load time.

Each app owns its registry (no module-global state); with several workers the values live in
the metrics directory (`PROMETHEUS_MULTIPROC_DIR`, which prometheus_client reads itself), and are
summed across workers when scraped.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self, shared_dir: Path | None = None) -> None:
        """`shared_dir`: the workers' metrics directory, when several workers serve."""
        self.shared_dir = shared_dir
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "scorer_requests", "HTTP requests by route and status.", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "scorer_request_duration_seconds",
            "HTTP request latency by route.",
            ["route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.rows = Counter("scorer_rows_scored", "Rows scored.", registry=self.registry)
        self.failures = Counter(
            "scorer_scoring_errors", "Failed scoring requests by kind.", ["kind"], registry=self.registry
        )
        self.load_seconds = Gauge(
            "scorer_model_load_seconds",
            "Seconds the model took to load.",
            registry=self.registry,
            multiprocess_mode="max",
        )

    def render(self) -> bytes:
        if self.shared_dir is not None:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=str(self.shared_dir))
            return generate_latest(registry)
        return generate_latest(self.registry)
