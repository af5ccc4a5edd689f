"""`create_app(settings)`: the ASGI app. Nothing happens at import; the model loads at startup."""

from __future__ import annotations

import functools
import gc
import logging
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

import anyio
from fastapi import Depends, FastAPI
from starlette.requests import Request
from starlette.responses import Response

from scoring_runtime import __version__
from scoring_runtime.core import tracing
from scoring_runtime.core.errors import ConfigError, RequestError
from scoring_runtime.deployments.loading import deployments_of, entry_loader
from scoring_runtime.deployments.peers import Peers
from scoring_runtime.deployments.registry import ModelRegistry
from scoring_runtime.deployments.repository import Repository
from scoring_runtime.http.auth import bearer_check, build_verifiers, credentials_guard
from scoring_runtime.http.docs import add_docs
from scoring_runtime.http.drain import GRACEFUL_SHUTDOWN_SECONDS, stop_grpc_when_draining
from scoring_runtime.http.errors import install_error_handlers, shape_chooser
from scoring_runtime.http.limits import BodyLimitMiddleware, BodyLimits
from scoring_runtime.http.metrics import Metrics
from scoring_runtime.http.observer import RequestObserver, record_grpc
from scoring_runtime.http.page import add_deployment_pages, add_page
from scoring_runtime.http.routing import DirectRoute, FixedPaths
from scoring_runtime.protocols.h2o import codec as h2o_codec
from scoring_runtime.protocols.h2o import routes as h2o_routes
from scoring_runtime.protocols.mlflow import codec as mlflow_codec
from scoring_runtime.protocols.mlflow import routes as mlflow_routes
from scoring_runtime.protocols.v2 import codec as v2_codec
from scoring_runtime.protocols.v2 import routes as v2_routes
from scoring_runtime.settings import Settings, load_settings

log = logging.getLogger("scorer")

YOUNG_COLLECTION_EVERY = 50_000
"""Net new containers (allocations less those freed) between young-generation collections
(Python's default is 700). A 10,000-row request holds ~25,000 lists and tuples while it runs, and
each collection walked every cell of the rows it found: at 5,000 a 10,000-row H2O-3 request
spent 6.6 ms of its ~35 in collections, at 50,000 none (700 → 5,000 had taken 37 → 33 ms). The
cyclic garbage this lets wait is bounded by the same count."""


def create_app(settings: Settings, *, preload: bool = False) -> FastAPI:
    """Build the app; its models load at startup, or here already with `preload` (one worker:
    a broken artifact or deployments file then fails before the server listens)."""
    server = settings.server
    metrics = Metrics(server.metrics_dir if server.workers > 1 else None)
    repository = build_repository(settings, metrics)
    registry = repository.registry
    verifiers = build_verifiers(server)
    if server.otel_endpoint:
        tracing.install(tracing.otlp_provider(server.otel_endpoint, server.otel_service_name, __version__))
    if preload:
        started = time.perf_counter()
        registry.start(deployments_of(settings))
        metrics.load_seconds.set(time.perf_counter() - started)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not preload:
            started = time.perf_counter()
            await repository.start()
            metrics.load_seconds.set(time.perf_counter() - started)
        gc.collect()
        gc.freeze()
        gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])
        grpc_server = None
        if server.grpc_port is not None:
            grpc_service = grpc_module()
            authenticate = bearer_check(verifiers) if verifiers else None
            grpc_server = await grpc_service.start(
                registry, server.host, server.grpc_port, server.max_body_bytes, authenticate, record_grpc(metrics)
            )
            log.info("gRPC inference service on port %s", server.grpc_port)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(repository.follow)
            if server.watch:
                tasks.start_soon(repository.watch)
            tasks.start_soon(reread_on_sighup, repository)
            if grpc_server is not None:
                tasks.start_soon(stop_grpc_when_draining, grpc_server)
            yield
            tasks.cancel_scope.cancel()
        if grpc_server is not None:
            await grpc_server.stop(grace=GRACEFUL_SHUTDOWN_SECONDS)
        repository.close()
        if server.otel_endpoint:
            tracing.shutdown()

    app = FastAPI(
        title="Scoring runtime",
        summary="The H2O scoring API and the Open Inference Protocol (V2) for H2O-3 MOJOs, Driverless AI MOJOs, "
        "pickles and MLflow models.",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # add_docs serves them from package files: FastAPI's load from a CDN
        redoc_url=None,
        # Traces are ours (core/tracing.py, opt-in); FastAPI's own would look for global OpenTelemetry
        # providers on every request (~3 µs) and, with one set, trace each request a second time.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.router.route_class = DirectRoute
    shape_for = shape_chooser(server.path_prefix)
    install_error_handlers(app, shape_for, lambda kind: metrics.failures.labels(kind).inc())
    guard = [Depends(credentials_guard(verifiers))] if verifiers else []

    async def render_metrics(request: Request) -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    prefixes = tuple(dict.fromkeys(("", server.path_prefix)))
    for prefix in prefixes:  # first: a request tries the routes in order, ~0.5 µs each
        h2o_routes.add_routes(app, prefix, registry, server, guard=guard, in_schema=not prefix)
        v2_routes.add_routes(app, prefix, repository, guard=guard, in_schema=not prefix)
        mlflow_routes.add_routes(app, prefix, registry, guard=guard, in_schema=not prefix)
        app.add_api_route(
            prefix + "/metrics",
            render_metrics,
            methods=["GET"],
            tags=["probes"],
            include_in_schema=not prefix,
            summary="Prometheus metrics",
            description="Requests, latency, rows, errors and model loads, summed over workers.",
            dependencies=guard if server.metrics_auth else [],
        )
    add_docs(app, prefixes, functools.partial(request_examples, registry))
    add_page(app, prefixes)
    documented = server.config is not None  # one model: /<name>/... works, but the docs stay the plain API's
    for prefix in prefixes:  # last: `/<deployment>/...` must not shadow the fixed paths above
        h2o_routes.add_routes(
            app, prefix, registry, server, guard=guard, in_schema=documented and not prefix, by_deployment=True
        )
    add_deployment_pages(app, prefixes, registry)
    app.add_middleware(FixedPaths, router=app.router)
    app.add_middleware(BodyLimitMiddleware, limits=BodyLimits.of(server), shape_for=shape_for)
    app.add_middleware(RequestObserver, metrics=metrics, log_payloads=server.log_payloads)
    return app


async def reread_on_sighup(repository: Repository) -> None:
    """`SIGHUP` re-reads the deployments, one signal at a time. A signal handler cannot start a
    task itself (anyio 4.16 refuses outside a task), so a task waits for the signals."""
    with anyio.open_signal_receiver(signal.SIGHUP) as signals:
        async for _ in signals:
            await repository.reread()


def request_examples(registry: ModelRegistry) -> dict[tuple[str, str], dict[str, Any]]:
    """Each protocol's request for the root deployment's model, built from its sample request, for
    the OpenAPI document's "Try it out"; none while no model is ready or none is the root's."""
    try:
        model = registry.primary(registry.deployment(None)) if registry.ready else None
        if model is None:
            return {}
        found = {
            ("POST", "/model/score"): h2o_codec.sample_request(model),
            ("POST", "/v2/models/{model_name}/infer"): v2_codec.example_request(model),
            ("POST", "/invocations"): mlflow_codec.example_request(model),
        }
    except RequestError:  # several deployments and no default, or a model without a sample
        return {}
    if (contribution := h2o_codec.contribution_example(model)) is not None:
        found[("POST", "/model/contribution")] = contribution
    return found


def build_repository(settings: Settings, metrics: Metrics) -> Repository:
    """The registry over the configured deployments, with peers when several workers share them."""
    server = settings.server
    registry = ModelRegistry(entry_loader(settings), metrics.challengers, server.challenger_queue, isolate=settings)
    peers = Peers(server.control_dir) if server.workers > 1 and server.control_dir is not None else None
    return Repository(registry, functools.partial(deployments_of, settings), peers)


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
