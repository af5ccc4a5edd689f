"""Trace spans of the core and the protocols' parsing, caught by OpenTelemetry's in-memory exporter."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from scoring_runtime.core import tracing
from scoring_runtime.core.errors import ConfigError, InvalidInput, ModelFailed
from scoring_runtime.protocols import offload
from scoring_runtime.protocols.h2o import codec
from scoring_runtime.protocols.h2o.wire import ContributionRequest, ScoreRequest
from tests.model_builders import CREDIT_CATEGORICAL, CREDIT_NUMERIC
from tests.served import serve

INPUTS = CREDIT_CATEGORICAL + CREDIT_NUMERIC


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    caught = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(caught))
    tracing.install(provider)
    yield caught
    tracing.shutdown()


def _rows(frame, n: int) -> list[list[str]]:
    return frame[INPUTS].head(n).astype(str).to_numpy().tolist()


def test_a_request_s_parse_score_and_explain_are_children_of_its_span(exporter, credit_model, credit_frame):
    model = serve(credit_model, shapley_types_enabled="ORIGINAL")
    rows = _rows(credit_frame, 7)

    async def request() -> None:
        with tracing.request_span("POST", {}, {"http.request.method": "POST"}) as current:
            parsed = await offload.parsed([b"x" * 123], lambda _: ScoreRequest(fields=INPUTS, rows=rows))
            await model.score(codec.score_job(model, parsed))
            job, kind = codec.contribution_job(
                model, ContributionRequest(fields=INPUTS, rows=rows, request_shapley_value_type="ORIGINAL")
            )
            await model.explain(job, kind)
            tracing.finish(current, {"http.response.status_code": 200, "scorer.rows": 7, "scorer.model": None}, False)

    asyncio.run(request())
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert set(spans) == {"POST", "parse", "score", "explain"}
    root = spans["POST"]
    assert all(spans[name].parent.span_id == root.context.span_id for name in ("parse", "score", "explain"))
    assert dict(spans["parse"].attributes) == {"scorer.body_bytes": 123}
    assert dict(spans["score"].attributes) == {"scorer.model": model.name, "scorer.rows": 7}
    assert dict(spans["explain"].attributes) == {
        "scorer.model": model.name,
        "scorer.rows": 7,
        "scorer.shapley": "ORIGINAL",
    }
    assert root.attributes["http.response.status_code"] == 200 and "scorer.model" not in root.attributes
    assert root.status.is_unset


def test_a_refused_request_records_its_error_on_the_span_that_failed(exporter, credit_model, credit_frame):
    model = serve(credit_model, shapley_types_enabled="NONE")

    async def request() -> None:
        with tracing.request_span("POST", {}, {}):
            await model.score(codec.score_job(model, ScoreRequest(fields=INPUTS, rows=[["x"] * len(INPUTS)])))

    with pytest.raises(InvalidInput, match="is not a number"):
        asyncio.run(request())
    spans = {span.name: span for span in exporter.get_finished_spans()}
    (event,) = spans["score"].events
    assert event.name == "exception" and "is not a number" in event.attributes["exception.message"]
    assert spans["score"].status.is_unset and spans["POST"].status.is_unset  # a 4xx is the caller's


def test_a_model_failure_marks_its_span_failed(exporter):
    with pytest.raises(ModelFailed), tracing.span("score"):
        raise ModelFailed("The model failed on row 3.")
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR and "row 3" in span.status.description


def test_the_caller_s_trace_is_continued_from_its_traceparent(exporter):
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with tracing.request_span("GET /readyz", {"traceparent": parent}, {}):
        pass
    (span,) = exporter.get_finished_spans()
    assert f"{span.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert f"{span.parent.span_id:016x}" == "b7ad6b7169203331"


def test_off_a_span_is_nothing(credit_model, credit_frame):
    assert not tracing.enabled()
    with tracing.span("score", {"scorer.rows": 1}) as current:
        assert current is None
    model = serve(credit_model, shapley_types_enabled="ORIGINAL")
    body = asyncio.run(model.score(codec.score_job(model, ScoreRequest(fields=INPUTS, rows=_rows(credit_frame, 2)))))
    assert len(body["score"]) == 2


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("collector:4318", "must be an http(s) URL of an OTLP collector (it is 'collector:4318')"),
        ("grpc://collector:4317", "must be an http(s) URL"),
    ],
)
def test_an_endpoint_that_is_no_http_url_is_one_sentence(endpoint, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        tracing.otlp_provider(endpoint, "scoring-runtime", "0")


@pytest.mark.parametrize(
    ("endpoint", "traces"),
    [
        ("http://collector:4318", "http://collector:4318/v1/traces"),
        ("http://collector:4318/", "http://collector:4318/v1/traces"),
        ("https://otel.example.com/v1/traces", "https://otel.example.com/v1/traces"),
    ],
)
def test_the_traces_path_is_added_to_a_base_url(endpoint, traces):
    provider = tracing.otlp_provider(endpoint, "scoring-runtime", "0")
    try:
        (processor,) = provider._active_span_processor._span_processors
        assert processor._batch_processor._exporter._endpoint == traces
        assert provider.resource.attributes["service.name"] == "scoring-runtime"
    finally:
        provider.shutdown()


def test_a_missing_sdk_is_named_with_the_extra_that_brings_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    with pytest.raises(ConfigError) as refused:
        tracing.otlp_provider("http://collector:4318", "scoring-runtime", "0")
    assert str(refused.value) == (
        "SCORER_OTEL_ENDPOINT needs 'opentelemetry.exporter.otlp.proto.http.trace_exporter': "
        "pip install 'scoring-runtime[otel]'."
    )
