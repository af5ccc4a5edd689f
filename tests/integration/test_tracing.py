"""OpenTelemetry traces from a real server process to a real OTLP/HTTP endpoint.

The collector here is a small HTTP server that decodes what it receives with OpenTelemetry's own
protobuf classes (`ExportTraceServiceRequest`), as a collector does; the server exports through
the SDK's OTLP exporter, unchanged.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.server_process import REPO, ServerProcess, free_port, start_server

pytestmark = pytest.mark.integration

AIRLINES = REPO / "models" / "airlines" / "distance.zip"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
ROW = {"Origin": "DEN", "Dest": "ONT", "fDayofMonth": "14", "fYear": "2004", "UniqueCarrier": "UA"}
ROW |= {"fDayOfWeek": "3", "fMonth": "NA", "IsDepDelayed": "NO"}


class Collector:
    """Receives `POST /v1/traces` and keeps every span with its resource's attributes."""

    def __init__(self) -> None:
        self.spans: list[dict] = []
        self.paths: set[str] = set()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest.FromString(body)
                collector.paths.add(self.path)
                for resource_spans in request.resource_spans:
                    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                    for scope_spans in resource_spans.scope_spans:
                        collector.spans.extend(_span(span, resource) for span in scope_spans.spans)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 20) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.spans) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return list(self.spans)


def _span(span: object, resource: dict) -> dict:
    attributes = {}
    for item in span.attributes:
        value = item.value
        attributes[item.key] = getattr(value, value.WhichOneof("value"))
    return {
        "name": span.name,
        "trace": span.trace_id.hex(),
        "id": span.span_id.hex(),
        "parent": span.parent_span_id.hex(),
        "kind": span.kind,
        "status": span.status.code,
        "attributes": attributes,
        "events": [event.name for event in span.events],
        "resource": resource,
    }


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    found = Collector()
    yield found
    found.server.shutdown()


@pytest.fixture(scope="module")
def traced(collector: Collector, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, int]]:
    grpc_port = free_port()
    server = start_server(
        AIRLINES,
        tmp_path_factory.mktemp("tracing"),
        "--grpc-port",
        str(grpc_port),
        env={
            "SCORER_OTEL_ENDPOINT": collector.url,
            "OTEL_SERVICE_NAME": "scorer-under-test",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        },
    )
    yield server, grpc_port
    server.stop()


def _children(spans: list[dict], parent: dict) -> dict[str, dict]:
    return {span["name"]: span for span in spans if span["parent"] == parent["id"]}


def _request_span(spans: list[dict], name: str, **attributes: object) -> dict:
    found = [s for s in spans if s["name"] == name and all(s["attributes"].get(k) == v for k, v in attributes.items())]
    assert found, f"no span {name} with {attributes} among {[s['name'] for s in spans]}"
    return found[-1]


def test_a_score_request_is_one_server_span_with_parse_and_score(traced, collector: Collector) -> None:
    server, _ = traced
    request = {"fields": list(ROW), "rows": [list(ROW.values())] * 3, "requestShapleyValueType": "ORIGINAL"}
    headers = {"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01"}
    with server.client() as client:
        assert client.post("/model/score", json=request, headers=headers).status_code == 200
    spans = collector.wait_for(4)
    root = _request_span(spans, "POST /model/score", **{"http.response.status_code": 200})
    assert (root["trace"], root["parent"]) == (TRACE_ID, CALLER_SPAN)  # the caller's trace, continued
    assert root["kind"] == 2  # SERVER
    assert root["attributes"] | {"http.request.method": "POST"} == {
        "http.request.method": "POST",
        "url.path": "/model/score",
        "http.route": "/model/score",
        "http.response.status_code": 200,
        "scorer.rows": 3,
        "scorer.deployment": "distance",
        "scorer.model": "distance",
    }
    children = _children(spans, root)
    assert set(children) == {"parse", "score"}
    assert children["score"]["attributes"] == {
        "scorer.model": "distance",
        "scorer.rows": 3,
        "scorer.shapley": "ORIGINAL",
    }
    assert children["parse"]["attributes"]["scorer.body_bytes"] > 0
    assert root["resource"]["service.name"] == "scorer-under-test"
    assert "/v1/traces" in collector.paths


def test_contributions_have_an_explain_span_and_a_refusal_is_not_a_server_error(traced, collector: Collector) -> None:
    server, _ = traced
    with server.client() as client:
        contribution = {"fields": list(ROW), "rows": [list(ROW.values())], "requestShapleyValueType": "TRANSFORMED"}
        assert client.post("/model/contribution", json=contribution).status_code == 200
        assert client.post("/model/score", json={"fields": ["Origin"], "rows": [["DEN"]]}).status_code == 400
    spans = collector.wait_for(len(collector.spans) + 5)
    explained = _request_span(spans, "POST /model/contribution")
    assert _children(spans, explained)["explain"]["attributes"]["scorer.shapley"] == "TRANSFORMED"
    refused = _request_span(spans, "POST /model/score", **{"http.response.status_code": 400})
    assert refused["status"] == 0  # UNSET: a 4xx is the caller's


def _tensors(client: ModuleType, batch: np.ndarray) -> list:
    """One BYTES tensor per input field, in the client module's own type (HTTP or gRPC)."""
    tensors = []
    for index, name in enumerate(ROW):
        tensor = client.InferInput(name, [len(batch)], "BYTES")
        tensor.set_data_from_numpy(batch[:, index])
        tensors.append(tensor)
    return tensors


def test_v2_rest_and_grpc_infer_are_traced_too(traced, collector: Collector) -> None:
    server, grpc_port = traced
    batch = np.array([list(ROW.values())] * 2, dtype=object)
    rest = triton_http.InferenceServerClient(server.url.removeprefix("http://"))
    rest_answer = rest.infer("distance", _tensors(triton_http, batch)).as_numpy("Distance")
    remote = triton_grpc.InferenceServerClient(f"127.0.0.1:{grpc_port}")
    grpc_answer = remote.infer("distance", _tensors(triton_grpc, batch)).as_numpy("Distance")
    np.testing.assert_array_equal(rest_answer, grpc_answer)
    spans = collector.wait_for(len(collector.spans) + 7)
    infer = _request_span(spans, "POST /v2/models/{model_name}/infer")
    assert set(_children(spans, infer)) == {"parse", "score"} and infer["attributes"]["scorer.rows"] == 2
    call = _request_span(spans, "inference.GRPCInferenceService/ModelInfer")
    assert call["kind"] == 2 and call["attributes"]["rpc.system"] == "grpc"
    assert call["attributes"]["rpc.grpc.status_code"] == 0 and call["attributes"]["scorer.model"] == "distance"
    assert set(_children(spans, call)) == {"parse", "score"}


def test_spans_still_buffered_at_a_drain_are_exported_before_the_exit(collector: Collector, tmp_path: Path) -> None:
    server = start_server(
        AIRLINES, tmp_path, env={"SCORER_OTEL_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "60000"}
    )
    with server.client() as client:
        assert client.get("/model/schema", headers={"x-request-id": "drain-check"}).status_code == 200
    before = len(collector.spans)
    assert server.stop() == 0
    spans = collector.wait_for(before + 1, timeout=5)
    assert any(span["name"] == "GET /model/schema" for span in spans[before:])
