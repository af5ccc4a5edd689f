"""The request body limit, enforced while the body streams in, before anything is parsed."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scoring_runtime.core.errors import InvalidInput, TooLarge
from scoring_runtime.http.errors import ErrorShape


class BodyLimitMiddleware:
    """413 for a body over `max_bytes`, by its Content-Length or by counting a chunked body."""

    def __init__(self, app: ASGIApp, max_bytes: int, shape_for: Callable[[str], ErrorShape]) -> None:
        """`shape_for(path)`: the protocol that answers an error at that path (this runs before any route)."""
        self.app = app
        self.max_bytes = max_bytes
        self.shape_for = shape_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == -1:
            await self.shape_for(scope["path"]).render(InvalidInput("The Content-Length header is not a number."))(
                scope, receive, send
            )
            return
        if declared is not None and declared > self.max_bytes:
            await self.shape_for(scope["path"]).render(TooLarge(self._sentence()))(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise TooLarge(self._sentence())
            return message

        await self.app(scope, counting_receive, send)

    def _sentence(self) -> str:
        return f"The request body is larger than the limit of {self.max_bytes} bytes."


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None
