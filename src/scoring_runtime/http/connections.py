"""Guards on connections, before a request reaches the app: a connection limit, a silent new
connection closed like an idle kept-alive one, a head that must arrive within the read timeout,
and malformed HTTP answered in the protocol's JSON error shape instead of uvicorn's text. A
response's head also leaves in the same write as its body (`HeldHead`).

uvicorn arms its keep-alive timer only after a response and has no timeout for a request's
head, so 500 silent connections stayed open for ever and a head trickled in byte by byte was
waited for. These guards live on uvicorn's httptools protocol (the `uvicorn[standard]` one),
reached through `GuardedConfig`, which workers receive pickled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import uvicorn
from starlette.responses import Response
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from scoring_runtime.core.errors import InvalidInput, Overloaded, RequestError, SlowClient
from scoring_runtime.http.errors import ErrorShape, shape_chooser
from scoring_runtime.http.observer import access_log
from scoring_runtime.settings import ServerSettings


@dataclass(frozen=True)
class Guards:
    read_timeout: float
    max_connections: int
    path_prefix: str

    @classmethod
    def of(cls, settings: ServerSettings) -> Guards:
        return cls(settings.read_timeout, settings.max_connections, settings.path_prefix)


class GuardedConfig(uvicorn.Config):
    """uvicorn's config with the guards' settings and protocol."""

    def __init__(self, app: Any, guards: Guards, **options: Any) -> None:
        super().__init__(app, http=GuardedHttpTools, **options)
        self.guards = guards


class GuardedHttpTools(HttpToolsProtocol):
    def __init__(self, config: GuardedConfig, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.guards = config.guards
        self.shape_for: Callable[[str], ErrorShape] = shape_chooser(config.guards.path_prefix)
        self.head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.guards.max_connections:
            sentence = f"The server has {self.guards.max_connections} connections open already; retry shortly."
            self.refuse(Overloaded(sentence))
            return
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_timer = self.loop.call_later(self.guards.read_timeout, self._head_too_slow)

    def on_headers_complete(self) -> None:
        self._stop_head_timer()
        before = self.cycle
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle is not before and cycle.scope["method"] != "HEAD":
            cycle.transport = HeldHead(self.transport)  # type: ignore[assignment]

    def send_400_response(self, msg: str) -> None:
        self._stop_head_timer()
        self.refuse(InvalidInput("The request is not valid HTTP/1.1: its request line, a header or its framing."))

    def _head_too_slow(self) -> None:
        self.head_timer = None
        seconds = f"{self.guards.read_timeout:g}"
        self.refuse(SlowClient(f"The request's head did not arrive within {seconds} s (SCORER_READ_TIMEOUT)."))

    def _stop_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def refuse(self, error: RequestError) -> None:
        """Answer in the JSON error shape of the protocol at the request's path (as far as it
        arrived) and close: no app, no route is involved yet."""
        if self.transport.is_closing():
            return
        path = self.url.decode("latin-1").partition("?")[0] if getattr(self, "url", None) else ""
        response = self.shape_for(path).render(error)
        self.transport.write(_raw(response))
        self.transport.close()
        fields = {"route": "unmatched", "status": response.status_code, "reason": error.detail, "path": path[:200]}
        access_log.info("request", extra=fields)


class HeldHead:
    """The transport as one response sees it: a head that declares its length waits for the
    body's first write and leaves in the same one. uvicorn writes them apart, and each write to a
    loopback or LAN socket is a send call and a segment of its own: ~40 µs of a single-row
    request's ~0.3 ms of server CPU here. A head of unknown length (a stream) leaves at once; an
    answer to HEAD has no body to carry it and is not held."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.head = b""
        self.seen_head = False

    def write(self, data: bytes) -> None:
        if not self.seen_head and data.startswith(b"HTTP/1.1 ") and not data.startswith(b"HTTP/1.1 1"):
            self.seen_head = True
            if b"\r\ncontent-length: " in data:
                self.head = data
                return
        if self.head:
            data, self.head = self.head + data, b""
        self.transport.write(data)

    def flush(self) -> None:
        if self.head:
            self.transport.write(self.head)
            self.head = b""

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        self.flush()
        return getattr(self.transport, name)


def _raw(response: Response) -> bytes:
    head = [f"HTTP/1.1 {response.status_code} {HTTPStatus(response.status_code).phrase}".encode("latin-1")]
    head += [name + b": " + value for name, value in response.raw_headers if name != b"connection"]
    head.append(b"connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n" + bytes(response.body)
