"""MLflow's scoring endpoints, thin: `/invocations` for the root's deployment, and the probes
MLflow's clients poll. An MLflow model is answered by MLflow's own code (native.py), any other
model through its frame (codec.py)."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata

from fastapi import FastAPI, Request
from fastapi.params import Depends
from starlette.responses import Response

from scoring_runtime import __version__
from scoring_runtime.deployments.registry import ModelRegistry
from scoring_runtime.protocols import offload
from scoring_runtime.protocols.headers import MODEL_HEADER, ROUTE_KEY
from scoring_runtime.protocols.mlflow import codec, native

PATHS = ("/invocations", "/ping", "/health", "/version")
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "One of dataframe_split ({columns, data}), dataframe_records ([{column: value}]), "
                    "instances or inputs (records, or {column: [values]}).",
                }
            },
            "text/csv": {"schema": {"type": "string", "description": "A header row of column names, then rows."}},
        },
    }
}


def add_routes(
    app: FastAPI, prefix: str, registry: ModelRegistry, *, guard: Sequence[Depends], in_schema: bool
) -> None:
    async def invocations(request: Request) -> Response:
        deployment = registry.deployment(None)
        content_type = request.headers.get("content-type", "")
        with registry.answer(deployment, request.headers.get(ROUTE_KEY)) as answer:
            model = answer.model
            request.state.deployment, request.state.model = deployment.name, model.name
            headers = {MODEL_HEADER: model.name}
            async with model.arrival():
                if native.is_pyfunc(model.framework_model):
                    body = await offload.parsed_body(request, bytes)  # a big body joined off the loop
                    content = await model.run_native(lambda pyfunc: native.answer(pyfunc, body, content_type))
                    return Response(content, media_type="application/json", headers=headers)
                columns, rows = await offload.parsed_body(request, lambda body: codec.read_table(body, content_type))
                result = await answer.score(codec.invocations_job(model, columns, rows))
        request.state.rows = rows
        return await offload.json_answer(result, rows, headers)

    async def ping(request: Request) -> Response:
        return Response("\n", status_code=200 if registry.ready else 503, media_type="application/json")

    async def version(request: Request) -> Response:
        try:
            text = metadata.version("mlflow-skinny")
        except metadata.PackageNotFoundError:
            text = __version__
        return Response(text, media_type="application/json")

    options = {"tags": ["mlflow"], "include_in_schema": in_schema}
    app.add_api_route(
        prefix + "/invocations",
        invocations,
        methods=["POST"],
        dependencies=list(guard),
        openapi_extra=_BODY,
        summary="Score rows as `mlflow models serve` does",
        description="`dataframe_split`, `dataframe_records`, `instances` or `inputs` (JSON), or CSV; answers "
        '`{"predictions": [...]}` (an MLflow model exactly as MLflow\'s server does).',
        **options,
    )
    for path in ("/ping", "/health"):
        app.add_api_route(
            prefix + path, ping, methods=["GET"], summary="MLflow's health probe",
            description="200 once the model is loaded, as `mlflow models serve` answers.", **options,
        )  # fmt: skip
    app.add_api_route(
        prefix + "/version", version, methods=["GET"], summary="The MLflow version",
        description="The installed MLflow's version, as `mlflow models serve` answers.", **options,
    )  # fmt: skip
