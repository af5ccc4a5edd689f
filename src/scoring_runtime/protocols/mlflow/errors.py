"""MLflow's one place for errors: `{"error_code": "<MLflow code>", "message": "<one sentence>"}`,
the shape `mlflow models serve` answers with, without its stack trace."""

from __future__ import annotations

from scoring_runtime.core.errors import RequestError
from scoring_runtime.protocols.responses import JsonResponse
from scoring_runtime.protocols.statuses import status_of

_CODES = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 404: "ENDPOINT_NOT_FOUND", 413: "REQUEST_LIMIT_EXCEEDED",
          415: "BAD_REQUEST", 503: "TEMPORARILY_UNAVAILABLE"}  # fmt: skip


def render_status(status: int, sentence: str, headers: dict[str, str] | None = None) -> JsonResponse:
    code = _CODES.get(status, "INTERNAL_ERROR")
    return JsonResponse({"error_code": code, "message": sentence}, status_code=status, headers=headers)


def render(error: RequestError) -> JsonResponse:
    status, headers = status_of(error)
    return render_status(status, error.detail, headers)
