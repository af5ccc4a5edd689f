"""The H2O API's one place for errors: each core error's status, and `{"detail"}` for all.

Every failure path ends here, so no handler is copied and no stack trace leaks: core errors get
their status from one table, FastAPI's validation errors and pydantic's become one sentence, and
anything unexpected is a 500 that says only that the server failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from scoring_runtime.core.errors import (
    InvalidInput,
    ModelFailed,
    NotFound,
    NotReady,
    Overloaded,
    RequestError,
    TooLarge,
    Unauthenticated,
    UnsupportedContent,
)
from scoring_runtime.protocols.responses import JsonResponse

log = logging.getLogger("scorer")

STATUS: dict[type[RequestError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    NotFound: 404,
    TooLarge: 413,
    UnsupportedContent: 415,
    ModelFailed: 500,
    NotReady: 503,
    Overloaded: 503,
}
HEADERS: dict[type[RequestError], dict[str, str]] = {
    Unauthenticated: {"WWW-Authenticate": "Bearer"},
    Overloaded: {"Retry-After": "1"},
}
_STATUS_SENTENCES = {
    404: "No such endpoint.",
    405: "This endpoint does not accept that method.",
}


def error_response(status: int, detail: str, headers: dict[str, str] | None = None) -> JsonResponse:
    return JsonResponse({"detail": detail}, status_code=status, headers=headers)


def render(error: RequestError) -> JsonResponse:
    """A core error as this protocol answers it."""
    kind = next(k for k in type(error).__mro__ if k in STATUS)
    return error_response(STATUS[kind], error.detail, HEADERS.get(kind))


def validation_sentence(errors: list[dict]) -> str:
    """Turn pydantic's list of errors into the one sentence the API promises.

    Only the first error is reported: a client fixes one thing at a time, and a long list is what
    the contract forbids.
    """
    if not errors:
        return "The request is not valid."
    error = errors[0]
    kind = error.get("type", "")
    loc = [part for part in error.get("loc", ()) if part != "body"]
    where = _location(loc)
    if kind == "json_invalid":
        return f"The request body is not valid JSON ({error.get('ctx', {}).get('error', 'parse error')})."
    if kind == "missing":
        return f"The request is missing the required field '{where}'."
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"'{where}' must be one of {expected}."
    if kind in {"model_type", "model_attributes_type", "dict_type"} and not loc:
        return "The request body must be a JSON object."
    message = str(error.get("msg", "is not valid")).rstrip(".")
    return f"'{where}' is not valid: {message[0].lower() + message[1:]}." if where else f"{message}."


def _location(loc: list[object]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def install_error_handlers(app: FastAPI, count: Callable[[str], None]) -> None:
    """`count(kind)` is told of every failed request by its kind (the metrics' error counter)."""

    async def on_request_error(request: Request, exc: RequestError) -> JsonResponse:
        count(type(exc).__name__)
        return render(exc)

    async def on_validation(request: Request, exc: RequestValidationError) -> JsonResponse:
        count(InvalidInput.__name__)
        return error_response(400, validation_sentence(list(exc.errors())))

    async def on_pydantic(request: Request, exc: ValidationError) -> JsonResponse:
        count(InvalidInput.__name__)
        return error_response(400, validation_sentence(exc.errors()))

    async def on_http(request: Request, exc: StarletteHTTPException) -> JsonResponse:
        detail = exc.detail if isinstance(exc.detail, str) else None
        if not detail or detail in {"Not Found", "Method Not Allowed"}:
            detail = _STATUS_SENTENCES.get(exc.status_code, "The request failed.")
        return error_response(exc.status_code, detail, getattr(exc, "headers", None))

    async def on_unexpected(request: Request, exc: Exception) -> JsonResponse:
        count("InternalError")
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "The server failed to handle this request.")

    app.add_exception_handler(RequestError, on_request_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ValidationError, on_pydantic)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
