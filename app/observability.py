"""Request ids, one JSON log line per request, and the request metrics, in one middleware.

Every log line is a JSON object carrying the request id of the request it belongs to (a context
variable, so lines logged by model code in a scoring thread carry it too). Payload values are
never logged unless `SCORER_LOG_PAYLOADS` is set.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import os
import secrets
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.metrics import Metrics

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_PAYLOAD_BYTES = 2048
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({})))
_ACCESS_LOGGER = "scorer.request"
access_log = logging.getLogger(_ACCESS_LOGGER)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if (current := request_id.get()) is not None:
            entry["request_id"] = current
        entry.update({k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS and k != "message"})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class BufferedStderrHandler(logging.StreamHandler):
    """Lines on stderr, with the per-request lines written in blocks: they wait in a buffer for at
    most `interval` seconds, because a write system call per request cost a tenth of a one-row
    request's CPU. Any other record writes the buffer and itself at once (so shutdown messages
    and errors are never held back); a killed process loses at most `interval` seconds of
    request lines. The flusher thread sleeps until a line is held, so an idle server never wakes."""

    def __init__(self, interval: float = 0.2) -> None:
        try:
            stream: TextIO = open(sys.stderr.fileno(), "w", buffering=1 << 16, encoding="utf-8", closefd=False)  # noqa: SIM115
        except (AttributeError, OSError, ValueError):  # stderr replaced by an object without a file
            stream = sys.stderr
        super().__init__(stream)
        self.interval = interval
        self._held = threading.Event()
        self._flusher_pid: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
            if record.name != _ACCESS_LOGGER or record.levelno >= logging.WARNING:
                self.stream.flush()
            elif not self._held.is_set():
                self._held.set()
            if self._flusher_pid != os.getpid():  # a forked child has no flusher thread yet
                self._flusher_pid = os.getpid()
                self._held = threading.Event()
                threading.Thread(
                    target=self._flush_periodically, args=(self._held,), name="log-flush", daemon=True
                ).start()
                self._held.set()
        except Exception:
            self.handleError(record)

    def _flush_periodically(self, held: threading.Event) -> None:
        while True:
            held.wait()
            time.sleep(self.interval)
            held.clear()  # before the flush: a line written after it sets the event again
            self.flush()


def logging_config(level: str) -> dict[str, Any]:
    """dictConfig for our loggers and uvicorn's, all as JSON lines on stderr."""
    handler = {"class": "app.observability.BufferedStderrHandler", "formatter": "json"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"default": handler},
        "loggers": {
            name: {"handlers": ["default"], "level": level.upper(), "propagate": False}
            for name in ("scorer", "uvicorn", "uvicorn.error", "uvicorn.access")
        },
        "root": {"handlers": ["default"], "level": "WARNING"},
    }


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

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        async def observed_receive() -> Message:
            message = await receive()
            if self.log_payloads and message["type"] == "http.request" and len(payload) < _PAYLOAD_BYTES:
                payload.extend(message.get("body", b"")[: _PAYLOAD_BYTES - len(payload)])
            return message

        try:
            await self.app(scope, observed_receive, observed_send)
        finally:
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(route, str(status)).inc()
            self.metrics.latency.labels(route).observe(elapsed)
            fields: dict[str, Any] = {
                "method": scope["method"],
                "route": route,
                "status": status,
                "rows": scope.get("state", {}).get("rows"),
                "duration_ms": round(elapsed * 1000, 3),
            }
            if self.log_payloads:
                fields["payload"] = payload.decode("utf-8", "replace")
            access_log.info("request", extra=fields)
            request_id.reset(token)


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


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            text = value.decode("latin-1").strip()
            return text[:128] if text else None
    return None
