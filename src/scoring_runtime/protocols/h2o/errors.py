"""The H2O API's one place for errors: `{"detail": "<one sentence>"}` with the core error's status."""

from __future__ import annotations

from scoring_runtime.core.errors import RequestError
from scoring_runtime.protocols.responses import JsonResponse
from scoring_runtime.protocols.statuses import status_of


def render_status(status: int, sentence: str, headers: dict[str, str] | None = None) -> JsonResponse:
    return JsonResponse({"detail": sentence}, status_code=status, headers=headers)


def render(error: RequestError) -> JsonResponse:
    status, headers = status_of(error)
    return render_status(status, error.detail, headers)
