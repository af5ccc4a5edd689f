"""Parsing big request bodies and encoding big answers on a thread, off the event loop.

On the loop, one 64 MiB body took 1 to 1.5 s to parse and every other connection waited that long;
below these sizes the thread hop (~0.3 ms) costs more than the work it would move.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import Response

from scoring_runtime.core import tracing
from scoring_runtime.protocols.responses import JsonResponse

T = TypeVar("T")

LARGE_BODY_BYTES = 512 * 1024
"""About 2.5 ms of JSON parsing and validation, half the loop's budget for inline scoring. A
1,000-row H2O request of 30 numbers (~300 KB, ~1.4 ms to parse) answered 10-15 % sooner parsed here
than with the thread hop."""

LARGE_ANSWER_ROWS = 2_000
"""About 2 ms of encoding an answer's rows."""


async def parsed_body(request: Request, parse: Callable[[bytes], T]) -> T:
    """The request's body, read, and `parse(body)`: see `parsed`."""
    return await parsed([chunk async for chunk in request.stream()], parse)


async def parsed(chunks: Sequence[bytes], parse: Callable[[bytes], T]) -> T:
    """`parse` of the body the chunks make, on a thread when it is large, else here. Joining the
    chunks is a thread's work too: one copy of a 64 MiB body kept the loop ~30 ms. Every protocol's
    parsing passes here, so this is where its trace span is."""
    size = sum(map(len, chunks))
    with tracing.span("parse", {"scorer.body_bytes": size}):
        if size <= LARGE_BODY_BYTES:
            return parse(b"".join(chunks))
        return await anyio.to_thread.run_sync(lambda: parse(b"".join(chunks)))


async def encoded(rows: int, encode: Callable[[], T]) -> T:
    """`encode()` on a thread when the answer has many rows, else here."""
    if rows <= LARGE_ANSWER_ROWS:
        return encode()
    return await anyio.to_thread.run_sync(encode)


async def json_answer(body: Any, rows: int, headers: dict[str, str]) -> Response:
    """The JSON response of an answer with `rows` rows, encoded off the loop when it is big."""
    if rows <= LARGE_ANSWER_ROWS:
        return JsonResponse(body, headers=headers)
    content = await anyio.to_thread.run_sync(orjson.dumps, body)
    return Response(content, media_type="application/json", headers=headers)
