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
from starlette.responses import PlainTextResponse, Response

from scoring_runtime.core.model import ServedModel
from scoring_runtime.deployments.deployment import Deployment
from scoring_runtime.deployments.registry import ModelRegistry
from scoring_runtime.protocols.h2o import codec
from scoring_runtime.protocols.h2o.bodies import json_body, media_body
from scoring_runtime.protocols.h2o.score_files import read_csv_table, resolve_score_file
from scoring_runtime.protocols.h2o.wire import (
    ChallengerReport,
    ContributionRequest,
    ContributionResponse,
    ErrorBody,
    ModelDocument,
    ScoreRequest,
    ScoreResponse,
)
from scoring_runtime.protocols.headers import MODEL_HEADER, ROUTE_KEY
from scoring_runtime.protocols.offload import json_answer
from scoring_runtime.protocols.openapi import request_body
from scoring_runtime.protocols.responses import JsonResponse
from scoring_runtime.settings import ServerSettings

OPERATIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("POST", "/model/score"): (
        "Score rows",
        "The model's outputs for each row of a table of cells (`fields`, `rows`), with Shapley values "
        "(`requestShapleyValueType`) and prediction intervals (`requestPredictionIntervals`) when the model "
        "offers them (`GET /model/capabilities`). The example is this model's own sample request.",
    ),
    ("GET", "/model/score"): (
        "Score a CSV file on the server",
        "Scores `file`, a CSV file (header row = field names) in the folder `SCORER_SCORE_FILE_DIR` names; "
        "404 when that setting is off.",
    ),
    ("POST", "/model/contribution"): (
        "Shapley values of rows",
        "One contribution per input field (`ORIGINAL`) or per transformed feature (`TRANSFORMED`) plus the "
        "bias, for each row; they add up to the model's output in its margin space.",
    ),
    ("POST", "/model/media-score"): (
        "Score rows with uploaded files",
        "A multipart form: `scoreMediaRequest` (a score request naming its media fields) and the `files` "
        "those cells name; for models with media inputs.",
    ),
    ("GET", "/readyz"): (
        "Readiness",
        "`Ready` (200) once the model has loaded and scored its sample request; 503 before.",
    ),
    ("GET", "/livez"): ("Liveness", "`OK` while the process serves requests."),
    ("GET", "/model/id"): ("The model's id", "The id the answers carry (`MODEL_ID`, or the artifact's own)."),
    ("GET", "/model/capabilities"): (
        "What the model can do",
        "`SCORE`, and `CONTRIBUTION_ORIGINAL`, `CONTRIBUTION_TRANSFORMED`, `SCORE_PREDICTION_INTERVAL`, "
        "`MEDIA`, `TEST_TIME_AUGMENTATION` where offered.",
    ),
    ("GET", "/model/schema"): (
        "The model's schema",
        "Its input, target and output fields with their types; `?levels=true` adds each categorical input's "
        "known levels (`levels`), an extension of the H2O API.",
    ),
    ("GET", "/model/sample_request"): ("A request the model scores", "One row built from the model's schema."),
    ("GET", "/model/challengers"): (
        "Challengers beside the champion",
        "For a champion/challenger deployment: each challenger's scored, failed and skipped counts and its "
        "differences from the champion.",
    ),
}
"""Every operation's summary and description in the OpenAPI document (FastAPI would make them
from function names and docstrings: "Readyz")."""

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
    by_deployment: bool = False,
) -> None:
    """Every endpoint under `prefix`, for the root's deployment, or with `by_deployment` under
    `prefix/<deployment>/`; `guard` (the auth dependency, when auth is configured) is attached to
    all but the probes (without auth nothing is attached: resolving a dependency costs on every
    request)."""

    def deployment_of(request: Request) -> Deployment:
        return registry.deployment(request.path_params.get("deployment"))

    def answered(request: Request, deployment: Deployment, model: ServedModel, rows: int) -> dict[str, str]:
        request.state.rows = rows
        request.state.deployment = deployment.name
        request.state.model = model.name
        return {MODEL_HEADER: model.name}

    async def score(request: Request) -> Response:
        deployment = deployment_of(request)
        with registry.answer(deployment, request.headers.get(ROUTE_KEY)) as answer:
            model = answer.model
            async with model.arrival():
                score_request = await json_body(request, ScoreRequest, numeric_rows=model.numeric_inputs)
                body = await answer.score(codec.score_job(model, score_request))
        return await json_answer(
            body, len(score_request.rows), answered(request, deployment, model, len(score_request.rows))
        )

    async def score_file(
        request: Request, file: str | None = Query(default=None, description="CSV file name")
    ) -> Response:
        deployment = deployment_of(request)
        path = resolve_score_file(settings.score_file_dir, file or "")
        fields, rows = read_csv_table(path)
        with registry.answer(deployment, request.headers.get(ROUTE_KEY)) as answer:
            model = answer.model
            job = codec.score_job(model, ScoreRequest(fields=fields, rows=rows), blocking=True)
            body = await answer.score(job)
        return await json_answer(body, len(rows), answered(request, deployment, model, len(rows)))

    async def contribution(request: Request) -> Response:
        deployment = deployment_of(request)
        with registry.answer(deployment, request.headers.get(ROUTE_KEY)) as answer:
            model = answer.model
            async with model.arrival():
                contribution_request = await json_body(request, ContributionRequest, numeric_rows=model.numeric_inputs)
                job, kind = codec.contribution_job(model, contribution_request)
                body = await model.explain(job, kind)
        return await json_answer(
            body, len(contribution_request.rows), answered(request, deployment, model, len(contribution_request.rows))
        )

    async def media_score(request: Request) -> Response:
        deployment = deployment_of(request)
        with registry.answer(deployment, request.headers.get(ROUTE_KEY)) as answer:
            model = answer.model
            codec.require_media(model)
            async with model.arrival():
                media_request, files = await media_body(
                    request, settings.max_media_files, settings.max_media_file_bytes
                )
                body = await answer.score(codec.media_job(model, media_request, files))
        return await json_answer(
            body, len(media_request.rows), answered(request, deployment, model, len(media_request.rows))
        )

    async def readyz(request: Request) -> PlainTextResponse:
        name = request.path_params.get("deployment")
        ready = registry.ready if name is None else registry.ready_for(registry.deployment(name))
        return PlainTextResponse("Ready" if ready else "Not ready", status_code=200 if ready else 503)

    async def livez() -> PlainTextResponse:
        return PlainTextResponse("OK")

    async def model_id(request: Request) -> PlainTextResponse:
        return PlainTextResponse(registry.primary(deployment_of(request)).model_id)

    async def capabilities(request: Request) -> JsonResponse:
        return JsonResponse(sorted(c.value for c in registry.capabilities(deployment_of(request))))

    async def model_schema(
        request: Request,
        levels: bool = Query(default=False, description="also list each categorical input's levels"),
    ) -> JsonResponse:
        model = registry.primary(deployment_of(request))
        return JsonResponse(codec.schema_document(model, levels=levels), headers={MODEL_HEADER: model.name})

    async def sample_request(request: Request) -> JsonResponse:
        return JsonResponse(codec.sample_request(registry.primary(deployment_of(request))))

    async def challengers(request: Request) -> JsonResponse:
        return JsonResponse(registry.challengers(deployment_of(request)))

    guarded = {"dependencies": list(guard)}
    text = {"response_class": PlainTextResponse}

    base = prefix + ("/{deployment}" if by_deployment else "")

    def route(path: str, endpoint: Callable[..., Any], method: str, tag: str, **options: Any) -> None:
        if by_deployment:  # an unknown deployment
            options["responses"] = {**options.get("responses", {}), 404: {"model": ErrorBody}}
        summary, description = OPERATIONS[(method, path)]
        app.add_api_route(
            base + path, endpoint, methods=[method], tags=[tag], include_in_schema=in_schema,
            summary=summary, description=description, **options,
        )  # fmt: skip

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
    route(
        "/model/challengers", challengers, "GET", "model", responses={200: {"model": list[ChallengerReport]}}, **guarded
    )
