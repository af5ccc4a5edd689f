"""`create_app(settings)`: the ASGI app. Nothing happens at import; the model loads at startup."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from app.errors import install_error_handlers
from app.limits import BodyLimitMiddleware
from app.metrics import Metrics
from app.observability import RequestObserver
from app.routes import add_routes
from app.scoring import ScoringService
from app.security import build_verifiers
from app.settings import Settings
from runtimes import load_scorer
from runtimes.base import LoadOptions, Scorer

log = logging.getLogger("scorer")

YOUNG_COLLECTION_EVERY = 5000
"""Container allocations between young-generation collections (Python's default is 700). A
1,000-row request allocates over 2,000 lists, and each collection walks every cell of the rows
it finds: measured 4.2 → 3.95 ms per 1,000-row request and 37 → 33 ms per 10,000, same RSS."""


def load_model(settings: Settings) -> Scorer:
    """Load the configured artifact; raises `ModelLoadError` with a sentence for the user."""
    return load_scorer(
        settings.model_path,
        LoadOptions(
            runtime=settings.runtime,
            expected_sha256=settings.model_sha256,
            jvm_max_heap=settings.jvm_xmx,
            mojo_threads=settings.mojo_threads,
            genmodel_jar=settings.genmodel_jar,
        ),
    )


def create_app(settings: Settings | None = None, scorer: Scorer | None = None) -> FastAPI:
    """Build the app; pass a loaded `scorer` to skip loading at startup (the CLI preloads it)."""
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started = time.perf_counter()
        loaded = scorer or await anyio.to_thread.run_sync(load_model, settings)
        service = ScoringService(loaded, settings)
        metrics.load_seconds.set(time.perf_counter() - started)
        app.state.service = service
        app.state.ready = await anyio.to_thread.run_sync(service.self_check)
        gc.collect()
        gc.freeze()
        gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])
        log.info("serving %s (%s) as model id %s", loaded.info.name, loaded.info.runtime, service.model_id)
        yield
        app.state.ready = False

    app = FastAPI(
        title="Scoring runtime",
        summary="The H2O scoring REST API for H2O-3 MOJOs, Driverless AI MOJOs, pickles and MLflow models.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.verifiers = build_verifiers(settings)
    app.state.ready = False
    install_error_handlers(app)
    auth = {"require_auth": bool(app.state.verifiers), "protect_metrics": settings.metrics_auth}
    add_routes(app, "", in_schema=True, **auth)
    if settings.path_prefix:
        add_routes(app, settings.path_prefix, in_schema=False, **auth)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestObserver, metrics=metrics, log_payloads=settings.log_payloads)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and for each worker process: settings from the environment."""
    return create_app(Settings())
