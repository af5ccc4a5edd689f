"""Request ids, one JSON log line per request, and the request metrics, in one middleware.

Payload values are never logged unless `SCORER_LOG_PAYLOADS` is set.
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scoring_runtime.core import tracing
from scoring_runtime.http.logs import ACCESS_LOGGER, request_id, request_line
from scoring_runtime.http.metrics import Metrics

_PAYLOAD_BYTES = 2048
_REASON_BYTES = 1024
access_log = logging.getLogger(ACCESS_LOGGER)


class RequestObserver:
    def __init__(self, app: ASGIApp, metrics: Metrics, log_payloads: bool = False) -> None:
        self.app = app
        self.metrics = metrics
        self.log_payloads = log_payloads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid = _header(scope, b"x-request-id") or _request_ids.next()
        token = request_id.set(rid)
        status = 500
        payload = bytearray()

        answer = bytearray()

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode("latin-1"))]
            elif status >= 400 and len(answer) < _REASON_BYTES:
                answer.extend(message.get("body", b"")[: _REASON_BYTES - len(answer)])
            await send(message)

        async def observed_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(payload) < _PAYLOAD_BYTES:
                payload.extend(message.get("body", b"")[: _PAYLOAD_BYTES - len(payload)])
            return message

        with tracing.request_span(scope["method"], _carrier(scope), _request_attributes(scope)) as current:
            try:  # the body is watched only when payloads are logged: a wrapper per read costs otherwise
                await self.app(scope, observed_receive if self.log_payloads else receive, observed_send)
            finally:
                self._finish(scope, start, status, payload, answer, current)
                request_id.reset(token)

    def _finish(
        self, scope: Scope, start: float, status: int, payload: bytearray, answer: bytearray, current: Any
    ) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")
        extra = {"payload": payload.decode("utf-8", "replace")} if self.log_payloads else {}
        if status >= 400:
            extra["reason"] = _reason(answer)
            if route == "unmatched":  # refused before routing (a body limit) or no such path
                extra["path"] = scope["path"][:200]
        state = scope.get("state", {})
        answered = Answered(state.get("rows"), state.get("deployment", ""), state.get("model", ""))
        record(self.metrics, scope["method"], route, status, status < 400, time.perf_counter() - start, answered, extra)
        if current is not None:
            _traced(current, scope["method"], route, status, answered)


def _carrier(scope: Scope) -> dict[str, str]:
    """The request's headers for trace-context extraction (read only when tracing is on)."""
    if not tracing.enabled():
        return {}
    return {key.decode("latin-1"): value.decode("latin-1") for key, value in scope.get("headers", ())}


def _request_attributes(scope: Scope) -> dict[str, str]:
    if not tracing.enabled():
        return {}
    return {"http.request.method": scope["method"], "url.path": scope["path"][:200]}


def _traced(current: Any, method: str, route: str, status: int, answered: Answered) -> None:
    """The request span's name and outcome, by OpenTelemetry's HTTP conventions: `GET /model/score`,
    an error only for 5xx (a refused request is the client's)."""
    if route != "unmatched":
        current.update_name(f"{method} {route}")
    tracing.finish(
        current,
        {
            "http.route": None if route == "unmatched" else route,
            "http.response.status_code": status,
            "scorer.rows": answered.rows,
            "scorer.deployment": answered.deployment or None,
            "scorer.model": answered.model or None,
        },
        failed=status >= 500,
    )


@dataclass(frozen=True)
class Answered:
    """What scored a request: its rows, the deployment and the model that answered ('' if none)."""

    rows: int | None = None
    deployment: str = ""
    model: str = ""


def record(
    metrics: Metrics,
    method: str,
    route: str,
    status: int | str,
    ok: bool,
    seconds: float,
    answered: Answered,
    extra: dict[str, Any] | None = None,
) -> None:
    """A finished request's metrics and log line: one way for HTTP requests and gRPC calls
    (`status`: the HTTP status, or the gRPC status code's name)."""
    scored = answered.rows if answered.rows and ok else 0
    metrics.answered(route, str(status), answered.deployment, answered.model, seconds, scored)
    fields = {
        "method": method,
        "route": route,
        "status": status,
        "rows": answered.rows,
        "duration_ms": round(seconds * 1000, 3),
        **({"deployment": answered.deployment, "model": answered.model} if answered.model else {}),
    }
    request_line(access_log, {**fields, **(extra or {})})


def record_grpc(metrics: Metrics) -> Callable[[str, str, float, dict[str, Any]], None]:
    """What the gRPC service calls for each call: its route is `grpc <Method>`, its status the code's name."""

    def observe(method: str, code: str, seconds: float, answered: dict[str, Any]) -> None:
        token = request_id.set(_request_ids.next())
        record(metrics, "gRPC", f"grpc {method}", code, code == "OK", seconds, Answered(**answered))
        request_id.reset(token)

    return observe


class _RequestIds:
    """32 hex digits: a random prefix per process and a counter. Unique across workers and
    restarts like a UUID4, without reading the OS's random source on every request."""

    def __init__(self) -> None:
        self._pid: int | None = None
        self._prefix = ""
        self._count = itertools.count()

    def next(self) -> str:
        if self._pid != os.getpid():  # a forked child must not repeat its parent's ids
            self._pid, self._prefix, self._count = os.getpid(), secrets.token_hex(8), itertools.count()
        return f"{self._prefix}{next(self._count):016x}"


_request_ids = _RequestIds()


def _reason(body: bytes | bytearray) -> str | None:
    """The one sentence of an error answer (`{"detail"}` or `{"error"}`), for its log line."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    values = list(document.values()) if isinstance(document, dict) else []
    return values[0] if values and isinstance(values[0], str) else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            text = value.decode("latin-1").strip()
            return text[:128] if text else None
    return None
