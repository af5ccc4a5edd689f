"""The Open Inference Protocol's REST endpoints, thin: read the body, hand the model a job, answer.

Every model route is served with and without `/versions/<v>`; built per app around the app's
registry, like the H2O API's routes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.params import Depends
from starlette.responses import Response

from scoring_runtime import __version__
from scoring_runtime.core.errors import NotFound
from scoring_runtime.deployments.deployment import Deployment
from scoring_runtime.deployments.registry import ModelRegistry
from scoring_runtime.deployments.repository import Repository
from scoring_runtime.protocols import offload
from scoring_runtime.protocols.headers import MODEL_HEADER, ROUTE_KEY
from scoring_runtime.protocols.openapi import request_body
from scoring_runtime.protocols.responses import JsonResponse
from scoring_runtime.protocols.v2 import codec, rest
from scoring_runtime.protocols.v2.wire import (
    ErrorBody,
    InferenceRequest,
    InferenceResponse,
    ModelMetadata,
    ServerMetadata,
)

PREFIX = "/v2"
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody} for status in (400, 401, 404, 413, 415, 500, 503)
}


def server_metadata(registry: ModelRegistry) -> dict[str, Any]:
    extensions = ["binary_tensor_data", *(["model_repository"] if registry.several else [])]
    return {"name": "scoring-runtime", "version": __version__, "extensions": extensions}


def find(registry: ModelRegistry, name: str, version: str | None) -> Deployment:
    """A model or a deployment by its V2 name (and, when given, at the version its model has)."""
    deployment = registry.deployment(name)
    if version is not None:
        model = registry.primary(deployment)
        if version != model.version:
            raise NotFound(f"The model '{name}' has no version '{version}'; it has version '{model.version}'.")
    return deployment


def model_metadata(registry: ModelRegistry, name: str, version: str | None) -> dict[str, Any]:
    deployment = find(registry, name, version)
    model = registry.primary(deployment)
    inputs, outputs = codec.tensor_metadata(model)
    capabilities = ",".join(sorted(c.value for c in registry.capabilities(deployment)))
    return {
        "name": name,
        "versions": [model.version],
        "platform": model.info.runtime,
        "inputs": inputs,
        "outputs": outputs,
        "parameters": {"model_id": model.model_id, "capabilities": capabilities},
    }


OPERATIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("POST", "/models/{model_name}/infer"): (
        "Infer",
        "One input tensor per model input field (or one `[N, inputs]` tensor when every input is numeric), "
        "in JSON or Triton's binary tensor extension; `parameters.shapley` and `prediction_intervals` add "
        "outputs. The example is built from this model's sample request.",
    ),
    ("GET", "/health/live"): ("Server live", '`{"live": true}` while the process serves requests.'),
    ("GET", "/health/ready"): ("Server ready", '`{"ready": true}` once every model is loaded; 503 before.'),
    ("GET", ""): ("Server metadata", "The server's name, version and protocol extensions."),
    ("GET", "/models/{model_name}"): ("Model metadata", "The model's platform, versions, input and output tensors."),
    ("GET", "/models/{model_name}/ready"): ("Model ready", '`{"ready": true}` once this model is loaded; 503 before.'),
    ("POST", "/repository/index"): (
        "Model repository index",
        'Every model with its state; `{"ready": true}` lists the ready ones.',
    ),
    ("POST", "/repository/models/{model_name}/load"): (
        "Load a model",
        "Loads (or reloads) a model of the deployments file.",
    ),
    ("POST", "/repository/models/{model_name}/unload"): (
        "Unload a model",
        "Unloads a model; its requests then get 404.",
    ),
}
"""Every operation's summary and description in the OpenAPI document (a version path has its
unversioned twin's)."""


def add_routes(
    app: FastAPI,
    prefix: str,
    repository: Repository,
    *,
    guard: Sequence[Depends],
    in_schema: bool,
) -> None:
    registry = repository.registry

    async def live() -> JsonResponse:
        return JsonResponse({"live": True})

    async def ready() -> JsonResponse:
        return JsonResponse({"ready": registry.ready}, status_code=200 if registry.ready else 503)

    async def metadata() -> JsonResponse:
        return JsonResponse(server_metadata(registry))

    async def model(model_name: str, model_version: str | None = None) -> JsonResponse:
        return JsonResponse(model_metadata(registry, model_name, model_version))

    async def model_ready(model_name: str, model_version: str | None = None) -> JsonResponse:
        ready = registry.ready_for(find(registry, model_name, model_version))
        return JsonResponse({"name": model_name, "ready": ready}, status_code=200 if ready else 503)

    async def infer(request: Request) -> Response:
        """Path parameters are read from the request itself: FastAPI's parameter binding costs a
        noticeable share of a one-row request, and both are plain strings."""
        name = request.path_params["model_name"]
        deployment = find(registry, name, request.path_params.get("model_version"))
        headers = request.headers
        with registry.answer(deployment, headers.get(ROUTE_KEY)) as answer:
            served = answer.model
            async with served.arrival():
                content_type, header_length = headers.get("content-type", ""), headers.get(rest.HEADER_LENGTH)
                infer = await offload.parsed_body(
                    request, lambda body: rest.read_request(body, content_type, header_length)
                )
                outputs = await answer.score(codec.infer_job(served, infer))
        rows = outputs[0].rows if outputs else 0
        request.state.rows = rows
        request.state.deployment, request.state.model = deployment.name, served.name
        content, response_headers = await offload.encoded(
            rows, lambda: rest.write_response(infer, outputs, name, served.version, served.model_id)
        )
        response_headers[MODEL_HEADER] = served.name
        return Response(content, headers=response_headers)

    async def repository_index(request: Request) -> JsonResponse:
        """`{"ready": true}` in the body lists only the models that are ready."""
        body = await request.body()
        only_ready = bool(rest.read_json_object(body).get("ready")) if body.strip() else False
        index = registry.index()
        return JsonResponse([m for m in index if m["state"] == "READY"] if only_ready else index)

    async def repository_load(model_name: str) -> JsonResponse:
        await repository.load(model_name)
        return JsonResponse({"name": model_name, "load": True})

    async def repository_unload(model_name: str) -> JsonResponse:
        await repository.unload(model_name)
        return JsonResponse({"name": model_name, "unload": True})

    def route(path: str, endpoint: Callable[..., Any], method: str, tag: str, **options: Any) -> None:
        summary, description = OPERATIONS[(method, path.replace("/versions/{model_version}", ""))]
        app.add_api_route(
            prefix + PREFIX + path, endpoint, methods=[method], tags=[tag], include_in_schema=in_schema,
            summary=summary, description=description, **options,
        )  # fmt: skip

    guarded = {"dependencies": list(guard)}
    body = request_body(InferenceRequest, "application/json", "application/octet-stream")
    for versioned in ("", "/versions/{model_version}"):
        names = ["model_name", *(["model_version"] if versioned else [])]
        parameters = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names]
        route(
            f"/models/{{model_name}}{versioned}/infer",
            infer,
            "POST",
            "v2",
            responses={200: {"model": InferenceResponse}, **_ERRORS},
            openapi_extra={**body, "parameters": parameters},
            **guarded,
        )
    route("/health/live", live, "GET", "v2 health")
    route("/health/ready", ready, "GET", "v2 health")
    route("", metadata, "GET", "v2", responses={200: {"model": ServerMetadata}}, **guarded)
    for versioned in ("", "/versions/{model_version}"):
        route(
            f"/models/{{model_name}}{versioned}",
            model,
            "GET",
            "v2",
            responses={200: {"model": ModelMetadata}, **_ERRORS},
            **guarded,
        )
        route(f"/models/{{model_name}}{versioned}/ready", model_ready, "GET", "v2", **guarded)
    route("/repository/index", repository_index, "POST", "v2 model repository", **guarded)
    route("/repository/models/{model_name}/load", repository_load, "POST", "v2 model repository", **guarded)
    route("/repository/models/{model_name}/unload", repository_unload, "POST", "v2 model repository", **guarded)
