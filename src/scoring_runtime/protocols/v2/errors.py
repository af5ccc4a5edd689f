"""The Open Inference Protocol's one place for REST errors: `{"error": "<one sentence>"}`."""

from __future__ import annotations

from scoring_runtime.core.errors import RequestError
from scoring_runtime.protocols.responses import JsonResponse
from scoring_runtime.protocols.statuses import status_of


def render_status(status: int, sentence: str, headers: dict[str, str] | None = None) -> JsonResponse:
    return JsonResponse({"error": sentence}, status_code=status, headers=headers)


def render(error: RequestError) -> JsonResponse:
    status, headers = status_of(error)
    return render_status(status, error.detail, headers)
