"""The HTTP status of each core error, shared by the HTTP protocols (each words its own body)."""

from __future__ import annotations

from scoring_runtime.core.errors import (
    InvalidInput,
    ModelFailed,
    NotFound,
    NotReady,
    Overloaded,
    RequestError,
    SlowClient,
    TooLarge,
    Unauthenticated,
    UnsupportedContent,
)

STATUS: dict[type[RequestError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    NotFound: 404,
    SlowClient: 408,
    TooLarge: 413,
    UnsupportedContent: 415,
    ModelFailed: 500,
    NotReady: 503,
    Overloaded: 503,
}
HEADERS: dict[type[RequestError], dict[str, str]] = {
    Unauthenticated: {"WWW-Authenticate": "Bearer"},
    Overloaded: {"Retry-After": "1"},
    SlowClient: {"Connection": "close"},
}
SENTENCES = {
    404: "No such endpoint.",
    405: "This endpoint does not accept that method.",
}
"""What the framework's own refusals say, in place of Starlette's "Not Found"."""


def status_of(error: RequestError) -> tuple[int, dict[str, str] | None]:
    kind = next(k for k in type(error).__mro__ if k in STATUS)
    return STATUS[kind], HEADERS.get(kind)
