"""The endpoints of API.md, thin: parse the body, hand it to the scoring service, answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from starlette.responses import PlainTextResponse, Response

from app.bodies import json_body, media_body
from app.errors import BadRequest, NotReady
from app.responses import JsonResponse
from app.schemas import (
    ContributionRequest,
    ContributionResponse,
    ErrorBody,
    ModelDocument,
    ScoreRequest,
    ScoreResponse,
    request_body_openapi,
)
from app.score_files import read_csv_table, resolve_score_file
from app.scoring import ScoringService
from app.security import require_credentials
from app.settings import Settings

_ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": ErrorBody} for status in (400, 401, 413, 415, 500, 503)}
_MEDIA_FORM = {
    "type": "object",
    "required": ["scoreMediaRequest"],
    "properties": {
        "scoreMediaRequest": {"type": "string", "description": "A JSON ScoreRequest plus mediaFields."},
        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
    },
}


def _service(request: Request) -> ScoringService:
    service: ScoringService | None = getattr(request.app.state, "service", None)
    if service is None:
        raise NotReady("The model is not loaded yet.")
    return service


def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def readyz(request: Request) -> PlainTextResponse:
    ready = getattr(request.app.state, "ready", False)
    return PlainTextResponse("Ready" if ready else "Not ready", status_code=200 if ready else 503)


async def livez() -> PlainTextResponse:
    return PlainTextResponse("OK")


async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


async def model_id(request: Request) -> PlainTextResponse:
    return PlainTextResponse(_service(request).model_id)


async def capabilities(request: Request) -> JsonResponse:
    return JsonResponse(sorted(c.value for c in _service(request).capabilities))


async def model_schema(request: Request) -> JsonResponse:
    return JsonResponse(_service(request).schema_document())


async def sample_request(request: Request) -> JsonResponse:
    return JsonResponse(_service(request).sample_request())


def _scored(request: Request, rows: int) -> None:
    request.state.rows = rows
    request.app.state.metrics.rows.inc(rows)


async def score(request: Request) -> JsonResponse:
    service = _service(request)
    with service.arrived():
        score_request = await json_body(request, ScoreRequest, numeric_rows=service.numeric_rows)
        body = await service.score_request(score_request)
    _scored(request, len(score_request.rows))
    return JsonResponse(body)


async def score_file(
    request: Request, file: str | None = Query(default=None, description="CSV file name")
) -> JsonResponse:
    service = _service(request)
    path = resolve_score_file(_settings(request).score_file_dir, file or "")
    fields, rows = read_csv_table(path)
    score_request = ScoreRequest(fields=fields, rows=rows)
    body = await service.run(lambda: service.score(score_request), service.inline_rows + 1)
    _scored(request, len(rows))
    return JsonResponse(body)


async def contribution(request: Request) -> JsonResponse:
    service = _service(request)
    contribution_request = await json_body(request, ContributionRequest, numeric_rows=service.numeric_rows)
    body = await service.run(lambda: service.contribution(contribution_request), len(contribution_request.rows))
    request.state.rows = len(contribution_request.rows)
    return JsonResponse(body)


async def media_score(request: Request) -> JsonResponse:
    service = _service(request)
    settings = _settings(request)
    if not service.schema.media_fields:
        raise BadRequest("This model takes no media inputs; score it with POST /model/score.")
    score_request, files = await media_body(request, settings.max_media_files, settings.max_media_file_bytes)
    body = await service.run(lambda: service.score_media(score_request, files), service.inline_rows + 1)
    _scored(request, len(score_request.rows))
    return JsonResponse(body)


def add_routes(app: FastAPI, prefix: str, *, require_auth: bool, protect_metrics: bool, in_schema: bool) -> None:
    """Register every endpoint directly on the app, the scoring routes first: FastAPI matches
    routes in order, and an included router costs a second matching pass on every request.
    The probes are always open; every other route requires credentials when auth is configured
    (without auth no dependency is attached at all: resolving one costs on every request)."""
    guarded = {"dependencies": [Depends(require_credentials)]} if require_auth else {}
    text = {"response_class": PlainTextResponse}

    def route(path: str, endpoint: Callable[..., Any], method: str, tag: str, **options: Any) -> None:
        app.add_api_route(prefix + path, endpoint, methods=[method], tags=[tag], include_in_schema=in_schema, **options)

    route(
        "/model/score",
        score,
        "POST",
        "scoring",
        responses={200: {"model": ScoreResponse}, **_ERRORS},
        openapi_extra=request_body_openapi(ScoreRequest),
        **guarded,
    )
    route(
        "/model/contribution",
        contribution,
        "POST",
        "scoring",
        responses={200: {"model": ContributionResponse}, **_ERRORS},
        openapi_extra=request_body_openapi(ContributionRequest),
        **guarded,
    )
    route(
        "/model/media-score",
        media_score,
        "POST",
        "scoring",
        responses={200: {"model": ScoreResponse}, **_ERRORS},
        openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _MEDIA_FORM}}}},
        **guarded,
    )
    route(
        "/model/score",
        score_file,
        "GET",
        "scoring",
        responses={200: {"model": ScoreResponse}, **_ERRORS, 404: {"model": ErrorBody}},
        **guarded,
    )
    route("/readyz", readyz, "GET", "probes", **text)
    route("/livez", livez, "GET", "probes", **text)
    route("/metrics", metrics, "GET", "probes", **text, **(guarded if protect_metrics else {}))
    route("/model/id", model_id, "GET", "model", **text, **guarded)
    route("/model/capabilities", capabilities, "GET", "model", response_model=list[str], **guarded)
    route("/model/schema", model_schema, "GET", "model", responses={200: {"model": ModelDocument}}, **guarded)
    route("/model/sample_request", sample_request, "GET", "model", responses={200: {"model": ScoreRequest}}, **guarded)
