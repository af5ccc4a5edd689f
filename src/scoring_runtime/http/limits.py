"""The request body's limits — its size and the rate it arrives at — enforced while it streams
in, before anything is parsed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scoring_runtime.core.errors import InvalidInput, SlowClient, TooLarge
from scoring_runtime.http.errors import ErrorShape
from scoring_runtime.settings import ServerSettings


@dataclass(frozen=True)
class BodyLimits:
    max_bytes: int
    read_timeout: float
    min_rate: int
    """Bytes per second after `read_timeout`; 0 = no rate."""

    @classmethod
    def of(cls, settings: ServerSettings) -> BodyLimits:
        return cls(settings.max_body_bytes, settings.read_timeout, settings.min_body_rate)

    def allowed_seconds(self, received: int) -> float:
        """How long a body that has brought `received` bytes so far may have taken."""
        return self.read_timeout + (received / self.min_rate if self.min_rate else float("inf"))


class BodyLimitMiddleware:
    """413 for a body over the size limit, by its Content-Length or by counting a chunked body;
    408 for a body that does not arrive in time. The clock starts when the app first asks for
    the body, so a request waiting for admission is not charged for the wait."""

    def __init__(self, app: ASGIApp, limits: BodyLimits, shape_for: Callable[[str], ErrorShape]) -> None:
        """`shape_for(path)`: the protocol that answers an error at that path (this runs before any route)."""
        self.app = app
        self.limits = limits
        self.shape_for = shape_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits = self.limits
        declared = _content_length(scope)
        if declared == -1:
            await self.shape_for(scope["path"]).render(InvalidInput("The Content-Length header is not a number."))(
                scope, receive, send
            )
            return
        if declared is not None and declared > limits.max_bytes:
            await self.shape_for(scope["path"]).render(TooLarge(self._too_large()))(scope, receive, send)
            return
        received = 0
        first_read: float | None = None

        async def limited_receive() -> Message:
            nonlocal received, first_read
            if first_read is None:
                first_read = asyncio.get_running_loop().time()
            try:  # asyncio's own timeout: half the cost of anyio's cancel scope, on every body read
                async with asyncio.timeout_at(first_read + limits.allowed_seconds(received)):
                    message = await receive()
            except TimeoutError:
                raise SlowClient(self._too_slow()) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limits.max_bytes:
                    raise TooLarge(self._too_large())
            return message

        await self.app(scope, limited_receive, send)

    def _too_large(self) -> str:
        return f"The request body is larger than the limit of {self.limits.max_bytes} bytes."

    def _too_slow(self) -> str:
        rate = f" plus 1 s per {self.limits.min_rate} bytes" if self.limits.min_rate else ""
        return (
            f"The request body did not arrive within {self.limits.read_timeout:g} s{rate} "
            "(SCORER_READ_TIMEOUT, SCORER_MIN_BODY_RATE)."
        )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None
