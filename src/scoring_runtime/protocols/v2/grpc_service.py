"""The Open Inference Protocol's gRPC service, `inference.GRPCInferenceService`, over the same codec.

The message classes and the servicer base come from `tritonclient`'s generated stubs of that
service (a superset of the protocol's own proto), so the wire is byte-for-byte what
`tritonclient.grpc` speaks. Requests map to `InferRequest` exactly as REST ones do; answers go
back as `raw_output_contents`, as Triton sends them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from tritonclient.grpc import service_pb2 as pb
from tritonclient.grpc import service_pb2_grpc

from scoring_runtime.core import tracing
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
from scoring_runtime.deployments.registry import ModelRegistry
from scoring_runtime.protocols.headers import MODEL_HEADER, ROUTE_KEY
from scoring_runtime.protocols.v2 import codec
from scoring_runtime.protocols.v2.routes import find, model_metadata, server_metadata
from scoring_runtime.protocols.v2.tensors import Tensor, from_buffer, from_values, to_buffer

log = logging.getLogger("scorer")
Authenticate = Callable[[str], Awaitable[None]]
"""Checks an `authorization` metadata value; raises `Unauthenticated`."""
Observe = Callable[[str, str, float, dict[str, Any]], None]
"""Told of every call: the method, its status code's name, its seconds, and for an inference
the rows it scored, the deployment and the model that answered."""

CODES: dict[type[RequestError], grpc.StatusCode] = {
    InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    UnsupportedContent: grpc.StatusCode.INVALID_ARGUMENT,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    NotFound: grpc.StatusCode.NOT_FOUND,
    TooLarge: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ModelFailed: grpc.StatusCode.INTERNAL,
    NotReady: grpc.StatusCode.UNAVAILABLE,
    Overloaded: grpc.StatusCode.UNAVAILABLE,
    SlowClient: grpc.StatusCode.DEADLINE_EXCEEDED,
}
"""The one place gRPC answers a core error: its status code, with the error's sentence."""
SERVICE = "inference.GRPCInferenceService"
SERVER_FAULTS = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
"""The codes a trace marks as the server's error (OpenTelemetry's RPC conventions)."""
_CONTENTS = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}


class InferenceService(service_pb2_grpc.GRPCInferenceServiceServicer):
    def __init__(self, registry: ModelRegistry, authenticate: Authenticate | None, observe: Observe) -> None:
        self.registry = registry
        self.authenticate = authenticate
        self.observe = observe

    async def ServerLive(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await self._guarded("ServerLive", context, _async(lambda: pb.ServerLiveResponse(live=True)), open_=True)

    async def ServerReady(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        answer = _async(lambda: pb.ServerReadyResponse(ready=self.registry.ready))
        return await self._guarded("ServerReady", context, answer, open_=True)

    async def ModelReady(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        def answer() -> Any:
            deployment = find(self.registry, request.name, request.version or None)
            return pb.ModelReadyResponse(ready=self.registry.ready_for(deployment))

        return await self._guarded("ModelReady", context, _async(answer))

    async def ServerMetadata(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        answer = _async(lambda: pb.ServerMetadataResponse(**server_metadata(self.registry)))
        return await self._guarded("ServerMetadata", context, answer)

    async def ModelMetadata(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        def answer() -> Any:
            document = model_metadata(self.registry, request.name, request.version or None)
            tensors = {
                key: [pb.ModelMetadataResponse.TensorMetadata(**t) for t in document[key]]
                for key in ("inputs", "outputs")
            }
            return pb.ModelMetadataResponse(
                name=document["name"], versions=document["versions"], platform=document["platform"], **tensors
            )

        return await self._guarded("ModelMetadata", context, _async(answer))

    async def ModelInfer(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        answered: dict[str, Any] = {}

        async def answer() -> Any:
            deployment = find(self.registry, request.model_name, request.model_version or None)
            route_key = dict(context.invocation_metadata() or ()).get(ROUTE_KEY)
            with self.registry.answer(deployment, route_key) as answer:
                served = answer.model
                async with served.arrival():
                    with tracing.span("parse"):
                        parsed = read_request(request)
                    outputs = await answer.score(codec.infer_job(served, parsed))
            answered.update(rows=outputs[0].rows if outputs else 0, deployment=deployment.name, model=served.name)
            context.set_trailing_metadata(((MODEL_HEADER, served.name),))
            return pb.ModelInferResponse(
                model_name=request.model_name,
                model_version=served.version,
                id=request.id,
                parameters={"model_id": pb.InferParameter(string_param=served.model_id)},
                outputs=[_output(t) for t in outputs],
                raw_output_contents=[to_buffer(t) for t in outputs],
            )

        return await self._guarded("ModelInfer", context, answer, answered=answered)

    async def _guarded(
        self,
        method: str,
        context: grpc.aio.ServicerContext,
        answer: Callable[[], Awaitable[Any]],
        *,
        open_: bool = False,
        answered: dict[str, Any] | None = None,
    ) -> Any:
        """Authentication (unless `open_`: the health calls), the error mapping and the call's
        metrics and log line, for every method."""
        started, code = time.perf_counter(), grpc.StatusCode.OK
        metadata = {str(k): str(v) for k, v in context.invocation_metadata() or ()}
        with tracing.request_span(f"{SERVICE}/{method}", metadata, _rpc_attributes(method)) as current:
            try:
                if self.authenticate is not None and not open_:
                    await self.authenticate(metadata.get("authorization", ""))
                return await answer()
            except RequestError as exc:
                code = CODES[next(k for k in type(exc).__mro__ if k in CODES)]
                await context.abort(code, exc.detail)
            except Exception:
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error in a gRPC call")
                await context.abort(code, "The server failed to handle this request.")
            finally:
                self.observe(method, code.name, time.perf_counter() - started, answered or {})
                tracing.finish(current, _rpc_outcome(code, answered or {}), failed=code in SERVER_FAULTS)


def _rpc_attributes(method: str) -> dict[str, str]:
    if not tracing.enabled():
        return {}
    return {"rpc.system": "grpc", "rpc.service": SERVICE, "rpc.method": method}


def _rpc_outcome(code: grpc.StatusCode, answered: dict[str, Any]) -> dict[str, Any]:
    return {
        "rpc.grpc.status_code": code.value[0],
        "scorer.rows": answered.get("rows"),
        "scorer.deployment": answered.get("deployment"),
        "scorer.model": answered.get("model"),
    }


def read_request(request: Any) -> codec.InferRequest:
    """A `ModelInferRequest` as the codec reads every request: raw contents in input order, or
    typed `contents` per input."""
    raw = list(request.raw_input_contents)
    if raw and len(raw) != len(request.inputs):
        raise InvalidInput(f"The request has {len(raw)} raw input contents for {len(request.inputs)} inputs.")
    inputs = []
    for index, item in enumerate(request.inputs):
        shape = list(item.shape)
        if raw:
            inputs.append(from_buffer(item.name, item.datatype, shape, raw[index]))
            continue
        field = _CONTENTS.get(item.datatype)
        values = list(getattr(item.contents, field)) if field else []
        if item.datatype == "BYTES":
            values = [v.decode("utf-8", "surrogateescape") for v in values]
        inputs.append(from_values(item.name, item.datatype, shape, values))
    parameters = {key: _parameter(value) for key, value in request.parameters.items()}
    outputs = [(o.name, {k: _parameter(v) for k, v in o.parameters.items()}) for o in request.outputs]
    return codec.InferRequest(inputs, request.id or None, parameters, outputs)


def _output(tensor: Tensor) -> Any:
    parameters = {key: pb.InferParameter(string_param=str(value)) for key, value in tensor.parameters.items()}
    return pb.ModelInferResponse.InferOutputTensor(
        name=tensor.name, datatype=tensor.datatype, shape=tensor.shape, parameters=parameters
    )


def _parameter(value: Any) -> Any:
    kind = value.WhichOneof("parameter_choice")
    return getattr(value, kind) if kind else None


def _async(work: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    async def run() -> Any:
        return work()

    return run


async def start(
    registry: ModelRegistry, host: str, port: int, max_bytes: int, authenticate: Authenticate | None, observe: Observe
) -> grpc.aio.Server:
    """The service listening on `host:port` (several workers share the port: SO_REUSEPORT)."""
    options = [
        ("grpc.max_receive_message_length", max_bytes),
        ("grpc.max_send_message_length", max_bytes),
        ("grpc.so_reuseport", 1),
    ]
    server = grpc.aio.server(options=options)
    service_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(
        InferenceService(registry, authenticate, observe), server
    )
    server.add_insecure_port(f"{host}:{port}")
    await server.start()
    return server
