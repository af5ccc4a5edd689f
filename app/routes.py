"""The endpoints of API.md, thin: parse the body, hand it to the scoring service, answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
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
        score_request = await json_body(request, ScoreRequest)
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
    contribution_request = await json_body(request, ContributionRequest)
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


def build_router(require_auth: bool, protect_metrics: bool) -> APIRouter:
    """The probes are always open; every other route requires credentials when auth is configured
    (without auth no dependency is attached at all: resolving one costs on every request)."""
    open_routes = APIRouter()
    text = {"response_class": PlainTextResponse}
    open_routes.add_api_route("/readyz", readyz, methods=["GET"], tags=["probes"], **text)
    open_routes.add_api_route("/livez", livez, methods=["GET"], tags=["probes"], **text)
    router = APIRouter(dependencies=[Depends(require_credentials)] if require_auth else [])
    (router if protect_metrics else open_routes).add_api_route(
        "/metrics", metrics, methods=["GET"], tags=["probes"], **text
    )
    router.add_api_route("/model/id", model_id, methods=["GET"], tags=["model"], **text)
    router.add_api_route("/model/capabilities", capabilities, methods=["GET"], tags=["model"], response_model=list[str])
    router.add_api_route(
        "/model/schema", model_schema, methods=["GET"], tags=["model"], responses={200: {"model": ModelDocument}}
    )
    router.add_api_route(
        "/model/sample_request",
        sample_request,
        methods=["GET"],
        tags=["model"],
        responses={200: {"model": ScoreRequest}},
    )
    router.add_api_route(
        "/model/score",
        score,
        methods=["POST"],
        tags=["scoring"],
        responses={200: {"model": ScoreResponse}, **_ERRORS},
        openapi_extra=request_body_openapi(ScoreRequest),
    )
    router.add_api_route(
        "/model/score",
        score_file,
        methods=["GET"],
        tags=["scoring"],
        responses={200: {"model": ScoreResponse}, **_ERRORS, 404: {"model": ErrorBody}},
    )
    router.add_api_route(
        "/model/contribution",
        contribution,
        methods=["POST"],
        tags=["scoring"],
        responses={200: {"model": ContributionResponse}, **_ERRORS},
        openapi_extra=request_body_openapi(ContributionRequest),
    )
    router.add_api_route(
        "/model/media-score",
        media_score,
        methods=["POST"],
        tags=["scoring"],
        responses={200: {"model": ScoreResponse}, **_ERRORS},
        openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _MEDIA_FORM}}}},
    )
    open_routes.include_router(router)
    return open_routes
