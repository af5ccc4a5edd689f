"""The endpoints of the H2O scoring API, thin: read the body, hand the model a job, answer.

Routes are built per app around the app's registry and settings (nothing module-global), and
registered directly on the app with the scoring routes first: FastAPI matches routes in order,
and an included router costs a second matching pass on every request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.params import Depends
from starlette.responses import PlainTextResponse

from scoring_runtime.core.registry import ModelRegistry
from scoring_runtime.protocols.h2o import codec
from scoring_runtime.protocols.h2o.bodies import json_body, media_body
from scoring_runtime.protocols.h2o.score_files import read_csv_table, resolve_score_file
from scoring_runtime.protocols.h2o.wire import (
    ContributionRequest,
    ContributionResponse,
    ErrorBody,
    ModelDocument,
    ScoreRequest,
    ScoreResponse,
)
from scoring_runtime.protocols.openapi import request_body
from scoring_runtime.protocols.responses import JsonResponse
from scoring_runtime.settings import ServerSettings

_ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": ErrorBody} for status in (400, 401, 413, 415, 500, 503)}
_MEDIA_FORM = {
    "type": "object",
    "required": ["scoreMediaRequest"],
    "properties": {
        "scoreMediaRequest": {"type": "string", "description": "A JSON ScoreRequest plus mediaFields."},
        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
    },
}


def add_routes(
    app: FastAPI,
    prefix: str,
    registry: ModelRegistry,
    settings: ServerSettings,
    *,
    guard: Sequence[Depends],
    in_schema: bool,
) -> None:
    """Every endpoint under `prefix`; `guard` (the auth dependency, when auth is configured) is
    attached to all but the probes (without auth nothing is attached: resolving a dependency
    costs on every request)."""

    async def score(request: Request) -> JsonResponse:
        model = registry.get()
        with model.arrival():
            score_request = await json_body(request, ScoreRequest, numeric_rows=model.numeric_inputs)
            body = await model.score(codec.score_job(model, score_request))
        request.state.rows = len(score_request.rows)
        return JsonResponse(body)

    async def score_file(
        request: Request, file: str | None = Query(default=None, description="CSV file name")
    ) -> JsonResponse:
        model = registry.get()
        path = resolve_score_file(settings.score_file_dir, file or "")
        fields, rows = read_csv_table(path)
        body = await model.score(codec.score_job(model, ScoreRequest(fields=fields, rows=rows), blocking=True))
        request.state.rows = len(rows)
        return JsonResponse(body)

    async def contribution(request: Request) -> JsonResponse:
        model = registry.get()
        contribution_request = await json_body(request, ContributionRequest, numeric_rows=model.numeric_inputs)
        job, kind = codec.contribution_job(model, contribution_request)
        body = await model.explain(job, kind)
        request.state.rows = len(contribution_request.rows)
        return JsonResponse(body)

    async def media_score(request: Request) -> JsonResponse:
        model = registry.get()
        codec.require_media(model)
        media_request, files = await media_body(request, settings.max_media_files, settings.max_media_file_bytes)
        body = await model.score(codec.media_job(model, media_request, files))
        request.state.rows = len(media_request.rows)
        return JsonResponse(body)

    async def readyz() -> PlainTextResponse:
        ready = registry.ready
        return PlainTextResponse("Ready" if ready else "Not ready", status_code=200 if ready else 503)

    async def livez() -> PlainTextResponse:
        return PlainTextResponse("OK")

    async def model_id() -> PlainTextResponse:
        return PlainTextResponse(registry.get().model_id)

    async def capabilities() -> JsonResponse:
        return JsonResponse(sorted(c.value for c in registry.get().capabilities))

    async def model_schema() -> JsonResponse:
        return JsonResponse(codec.schema_document(registry.get()))

    async def sample_request() -> JsonResponse:
        return JsonResponse(codec.sample_request(registry.get()))

    guarded = {"dependencies": list(guard)}
    text = {"response_class": PlainTextResponse}

    def route(path: str, endpoint: Callable[..., Any], method: str, tag: str, **options: Any) -> None:
        app.add_api_route(prefix + path, endpoint, methods=[method], tags=[tag], include_in_schema=in_schema, **options)

    scoring = {"responses": {200: {"model": ScoreResponse}, **_ERRORS}, **guarded}
    route("/model/score", score, "POST", "scoring", openapi_extra=request_body(ScoreRequest), **scoring)
    route(
        "/model/contribution",
        contribution,
        "POST",
        "scoring",
        responses={200: {"model": ContributionResponse}, **_ERRORS},
        openapi_extra=request_body(ContributionRequest),
        **guarded,
    )
    route(
        "/model/media-score",
        media_score,
        "POST",
        "scoring",
        openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _MEDIA_FORM}}}},
        **scoring,
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
    route("/model/id", model_id, "GET", "model", **text, **guarded)
    route("/model/capabilities", capabilities, "GET", "model", response_model=list[str], **guarded)
    route("/model/schema", model_schema, "GET", "model", responses={200: {"model": ModelDocument}}, **guarded)
    route("/model/sample_request", sample_request, "GET", "model", responses={200: {"model": ScoreRequest}}, **guarded)
