"""One exception base, one status mapping and one `{"detail"}` body for every error."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.responses import JsonResponse

log = logging.getLogger("scorer")


class ConfigError(Exception):
    """The server's configuration cannot work; the message is one sentence for the operator."""


class ApiError(Exception):
    """An error answered to the client; `detail` is one sentence it can act on."""

    status = 500
    headers: dict[str, str] | None = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401
    headers = {"WWW-Authenticate": "Bearer"}


class NotFound(ApiError):
    status = 404


class PayloadTooLarge(ApiError):
    status = 413


class UnsupportedMediaType(ApiError):
    status = 415


class ModelFailed(ApiError):
    status = 500


class NotReady(ApiError):
    status = 503


class Overloaded(ApiError):
    status = 503
    headers = {"Retry-After": "1"}


_STATUS_SENTENCES = {
    404: "No such endpoint.",
    405: "This endpoint does not accept that method.",
}


def error_response(status: int, detail: str, headers: dict[str, str] | None = None) -> JsonResponse:
    return JsonResponse({"detail": detail}, status_code=status, headers=headers)


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


def install_error_handlers(app: FastAPI) -> None:
    """Every failure path ends here, so no handler is ever copied and no stack trace leaks."""

    def count(request: Request, kind: str) -> None:
        metrics = getattr(request.app.state, "metrics", None)
        if metrics is not None:
            metrics.failures.labels(kind).inc()

    async def on_api_error(request: Request, exc: ApiError) -> JsonResponse:
        count(request, type(exc).__name__)
        return error_response(exc.status, exc.detail, exc.headers)

    async def on_validation(request: Request, exc: RequestValidationError) -> JsonResponse:
        count(request, "BadRequest")
        return error_response(400, validation_sentence(list(exc.errors())))

    async def on_pydantic(request: Request, exc: ValidationError) -> JsonResponse:
        count(request, "BadRequest")
        return error_response(400, validation_sentence(exc.errors()))

    async def on_http(request: Request, exc: StarletteHTTPException) -> JsonResponse:
        detail = exc.detail if isinstance(exc.detail, str) else None
        if not detail or detail in {"Not Found", "Method Not Allowed"}:
            detail = _STATUS_SENTENCES.get(exc.status_code, "The request failed.")
        return error_response(exc.status_code, detail, getattr(exc, "headers", None))

    async def on_unexpected(request: Request, exc: Exception) -> JsonResponse:
        count(request, "InternalError")
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "The server failed to handle this request.")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ValidationError, on_pydantic)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
