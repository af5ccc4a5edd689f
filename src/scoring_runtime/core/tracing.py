"""OpenTelemetry spans, opt-in (`SCORER_OTEL_ENDPOINT`): a span per request and child spans for
parse, score and explain.

Off, nothing of OpenTelemetry is imported and a span costs one branch, so the hot path of a
server without tracing is unchanged. The tracer lives here, per process, because the places
that open spans (the protocols' parsing, the model's scoring) are far apart and have no shared
object to carry it; each worker installs its own provider after it starts.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any
from urllib.parse import urlsplit

from scoring_runtime.core.errors import (
    ConfigError,
    InvalidInput,
    NotFound,
    SlowClient,
    TooLarge,
    Unauthenticated,
    UnsupportedContent,
)

AttributeValue = str | bool | int | float

_tracer: Any = None
_provider: Any = None


def enabled() -> bool:
    return _tracer is not None


def otlp_provider(endpoint: str, service: str, version: str) -> Any:
    """A tracer provider exporting over OTLP/HTTP (protobuf) in batches. `endpoint` is the
    collector's base URL (`/v1/traces` is added, as for `OTEL_EXPORTER_OTLP_ENDPOINT`) or the
    full traces URL; headers, timeouts and TLS come from the standard `OTEL_EXPORTER_OTLP_*`."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ModuleNotFoundError as exc:
        raise ConfigError(f"SCORER_OTEL_ENDPOINT needs '{exc.name}': pip install 'scoring-runtime[otel]'.") from None
    url = urlsplit(endpoint)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ConfigError(f"SCORER_OTEL_ENDPOINT must be an http(s) URL of an OTLP collector (it is '{endpoint}').")
    traces = endpoint if url.path.rstrip("/").endswith("/v1/traces") else endpoint.rstrip("/") + "/v1/traces"
    resource = Resource.create(
        {
            "service.name": service,
            "service.version": version,
            "service.instance.id": f"{socket.gethostname()}-{os.getpid()}",
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces)))
    return provider


def install(provider: Any) -> None:
    """Spans from now on go to `provider` (an SDK `TracerProvider`); None turns tracing off."""
    global _tracer, _provider
    _provider = provider
    _tracer = None if provider is None else provider.get_tracer("scoring_runtime")


def shutdown() -> None:
    """Export what is buffered and stop (at the end of a drain)."""
    provider = _provider
    install(None)
    if provider is not None:
        provider.shutdown()


CALLERS_FAULTS = (InvalidInput, UnsupportedContent, Unauthenticated, NotFound, TooLarge, SlowClient)
"""Errors that are the caller's (a 4xx): recorded on the span, which is not marked failed."""


_OFF: AbstractContextManager[None] = nullcontext()
"""What a span is when tracing is off: one shared object, entered at no cost (a generator-based
context manager costs ~2 µs per span; four per request)."""


def span(name: str, attributes: Mapping[str, AttributeValue] | None = None) -> AbstractContextManager[Any]:
    """A child of the current span; None when tracing is off. An exception leaving it is
    recorded on the span (an error of the server's own marks it failed) and re-raised."""
    return _OFF if _tracer is None else _span(name, attributes)


def request_span(
    name: str, carrier: Mapping[str, str], attributes: Mapping[str, AttributeValue]
) -> AbstractContextManager[Any]:
    """A server span for one request or call, continuing the caller's trace when its headers
    (`traceparent`, W3C Trace Context) carry one. Its status is left to `finish`: exceptions a
    protocol turns into a 4xx answer are not errors of the server."""
    return _OFF if _tracer is None else _request_span(name, carrier, attributes)


@contextmanager
def _span(name: str, attributes: Mapping[str, AttributeValue] | None) -> Iterator[Any]:
    with _tracer.start_as_current_span(
        name, attributes=dict(attributes or {}), record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield current
        except BaseException as exc:
            current.record_exception(exc)
            if not isinstance(exc, CALLERS_FAULTS):
                from opentelemetry.trace import Status, StatusCode

                current.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:200]))
            raise


@contextmanager
def _request_span(name: str, carrier: Mapping[str, str], attributes: Mapping[str, AttributeValue]) -> Iterator[Any]:
    from opentelemetry.propagate import extract
    from opentelemetry.trace import SpanKind

    with _tracer.start_as_current_span(
        name,
        context=extract(carrier),
        kind=SpanKind.SERVER,
        attributes=dict(attributes),
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        yield current


def finish(current: Any, attributes: Mapping[str, AttributeValue | None], failed: bool) -> None:
    """The request's outcome on its span (None values are left out)."""
    if current is None:
        return
    from opentelemetry.trace import Status, StatusCode

    current.set_attributes({key: value for key, value in attributes.items() if value is not None})
    if failed:
        current.set_status(Status(StatusCode.ERROR))
