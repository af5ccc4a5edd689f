"""Every failure path of the HTTP app ends here, so no handler is copied and no stack trace leaks.

Core errors, FastAPI's validation errors, the framework's 404/405 and anything unexpected are each
turned into one sentence; which protocol words the answer is decided by the request's path.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from scoring_runtime.core.errors import InvalidInput, RequestError
from scoring_runtime.protocols.h2o import errors as h2o_errors
from scoring_runtime.protocols.mlflow import errors as mlflow_errors
from scoring_runtime.protocols.mlflow.routes import PATHS as MLFLOW_PATHS
from scoring_runtime.protocols.sentences import validation_sentence
from scoring_runtime.protocols.statuses import SENTENCES
from scoring_runtime.protocols.v2 import errors as v2_errors
from scoring_runtime.protocols.v2.routes import PREFIX as V2_PREFIX

log = logging.getLogger("scorer")


class ErrorShape(Protocol):
    """How one protocol answers an error."""

    def render(self, error: RequestError) -> Response: ...

    def render_status(self, status: int, sentence: str, headers: dict[str, str] | None = None) -> Response: ...


@functools.cache
def shape_chooser(path_prefix: str) -> Callable[[str], ErrorShape]:
    """`shape_for(path)`: the protocol whose error shape answers at `path` — V2 under /v2 (and
    the prefix's /v2), MLflow's at its paths, the H2O API elsewhere. Also used before any route exists: by the body
    limits and by the connection guards, which answer from the request line alone. Cached: each
    new connection asks for it."""
    prefixes = dict.fromkeys(("", path_prefix))
    v2_paths = tuple(f"{prefix}{V2_PREFIX}" for prefix in prefixes)
    mlflow_paths = frozenset(f"{prefix}{path}" for prefix in prefixes for path in MLFLOW_PATHS)

    def shape_for(path: str) -> ErrorShape:
        if path.startswith(v2_paths):
            return v2_errors
        return mlflow_errors if path in mlflow_paths else h2o_errors

    return shape_for


def install_error_handlers(app: FastAPI, shape_for: Callable[[str], ErrorShape], count: Callable[[str], None]) -> None:
    """`shape_for(path)`: the protocol that answers at that path; `count(kind)` is told of every
    failed request by its kind (the metrics' error counter)."""

    async def on_request_error(request: Request, exc: RequestError) -> Response:
        count(type(exc).__name__)
        return shape_for(request.url.path).render(exc)

    async def on_validation(request: Request, exc: RequestValidationError | ValidationError) -> Response:
        count(InvalidInput.__name__)
        return shape_for(request.url.path).render(InvalidInput(validation_sentence(list(exc.errors()))))

    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else None
        if not detail or detail in {"Not Found", "Method Not Allowed"}:
            detail = SENTENCES.get(exc.status_code, "The request failed.")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Starlette names only the first route at the path
            kept = {k: v for k, v in (headers or {}).items() if k.lower() != "allow"}
            headers = {**kept, "allow": ", ".join(_allowed(app, request))}
        return shape_for(request.url.path).render_status(exc.status_code, detail, headers)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        count("InternalError")
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return shape_for(request.url.path).render_status(500, "The server failed to handle this request.")

    app.add_exception_handler(RequestError, on_request_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def _allowed(app: FastAPI, request: Request) -> list[str]:
    """Every method some route at this path answers (`GET /model/score` and `POST` are two routes)."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)
