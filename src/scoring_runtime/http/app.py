"""`create_app(settings)`: the ASGI app. Nothing happens at import; the model loads at startup."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType

import anyio
from fastapi import Depends, FastAPI
from starlette.requests import Request
from starlette.responses import Response

from scoring_runtime import __version__
from scoring_runtime.core.errors import ConfigError
from scoring_runtime.core.model import ServedModel
from scoring_runtime.core.registry import ModelRegistry
from scoring_runtime.http.auth import bearer_check, build_verifiers, credentials_guard
from scoring_runtime.http.errors import ErrorShape, install_error_handlers
from scoring_runtime.http.limits import BodyLimitMiddleware
from scoring_runtime.http.metrics import Metrics
from scoring_runtime.http.observer import RequestObserver, record_grpc
from scoring_runtime.protocols.h2o import errors as h2o_errors
from scoring_runtime.protocols.h2o import routes as h2o_routes
from scoring_runtime.protocols.v2 import errors as v2_errors
from scoring_runtime.protocols.v2 import routes as v2_routes
from scoring_runtime.runtimes import load_model
from scoring_runtime.settings import Settings, load_settings

log = logging.getLogger("scorer")

YOUNG_COLLECTION_EVERY = 5000
"""Container allocations between young-generation collections (Python's default is 700). A
1,000-row request allocates over 2,000 lists, and each collection walks every cell of the rows
it finds: measured 4.2 → 3.95 ms per 1,000-row request and 37 → 33 ms per 10,000, same RSS."""


def create_app(settings: Settings, model: ServedModel | None = None) -> FastAPI:
    """Build the app; pass a loaded `model` to skip loading at startup (the CLI preloads it)."""
    server = settings.server
    metrics = Metrics(server.metrics_dir if server.workers > 1 else None)
    registry = ModelRegistry()
    verifiers = build_verifiers(server)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started = time.perf_counter()
        served = model or await anyio.to_thread.run_sync(load_model, settings)
        metrics.load_seconds.set(time.perf_counter() - started)
        registry.serve(served, ready=await anyio.to_thread.run_sync(served.self_check))
        gc.collect()
        gc.freeze()
        gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])
        log.info("serving %s (%s) as model id %s", served.info.name, served.info.runtime, served.model_id)
        grpc_server = None
        if server.grpc_port is not None:
            grpc_service = grpc_module()
            authenticate = bearer_check(verifiers) if verifiers else None
            grpc_server = await grpc_service.start(
                registry, server.host, server.grpc_port, server.max_body_bytes, authenticate, record_grpc(metrics)
            )
            log.info("gRPC inference service on port %s", server.grpc_port)
        yield
        if grpc_server is not None:
            await grpc_server.stop(grace=5)
        registry.close()

    app = FastAPI(
        title="Scoring runtime",
        summary="The H2O scoring API and the Open Inference Protocol (V2) for H2O-3 MOJOs, Driverless AI MOJOs, "
        "pickles and MLflow models.",
        version=__version__,
        lifespan=lifespan,
    )
    v2_paths = tuple(f"{prefix}{v2_routes.PREFIX}" for prefix in dict.fromkeys(("", server.path_prefix)))

    def shape_for(path: str) -> ErrorShape:
        """The protocol whose error shape answers at `path`: V2 under /v2, the H2O API elsewhere."""
        return v2_errors if path.startswith(v2_paths) else h2o_errors

    install_error_handlers(app, shape_for, lambda kind: metrics.failures.labels(kind).inc())
    guard = [Depends(credentials_guard(verifiers))] if verifiers else []

    async def render_metrics(request: Request) -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    for prefix in dict.fromkeys(("", server.path_prefix)):
        h2o_routes.add_routes(app, prefix, registry, server, guard=guard, in_schema=not prefix)
        v2_routes.add_routes(app, prefix, registry, guard=guard, in_schema=not prefix)
        app.add_api_route(
            prefix + "/metrics",
            render_metrics,
            methods=["GET"],
            tags=["probes"],
            include_in_schema=not prefix,
            dependencies=guard if server.metrics_auth else [],
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=server.max_body_bytes, shape_for=shape_for)
    app.add_middleware(RequestObserver, metrics=metrics, log_payloads=server.log_payloads)
    return app


def grpc_module() -> ModuleType:
    """grpcio is loaded only when the gRPC service is on, and named when it is missing."""
    try:
        from scoring_runtime.protocols.v2 import grpc_service
    except ModuleNotFoundError as exc:
        raise ConfigError(f"The gRPC service needs '{exc.name}': pip install 'scoring-runtime[grpc]'.") from None
    return grpc_service


def create_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory scoring_runtime.http.app:create_app_from_env`: settings
    from the environment."""
    return create_app(load_settings())
