"""Measuring instruments, not servers: the least any HTTP server can spend scoring the benchmark
model on this machine, to read our figures against.

Both apps read the body with orjson, turn the rows into a float array, call `predict_proba` and
write every probability with `repr`, with no checks, logging, metrics or error handling. One is a
raw ASGI callable (what uvicorn itself costs), the other one FastAPI endpoint (what the framework
adds). With BENCH_ACCELERATED set, the model is scored by the server's verified fast path
(treelite, onnxruntime) where it has one, as `python -m bench.matrix` runs it. `python -m bench.compare` runs them beside the real servers:

    BENCH_MODEL=.bench/gbm.joblib uvicorn --factory bench.floor:raw_app --no-access-log
    BENCH_MODEL=.bench/gbm.joblib uvicorn --factory bench.floor:fastapi_app --no-access-log
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import joblib
import numpy as np
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

Message = dict[str, Any]
ASGIApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]


def _scorer() -> Callable[[bytes], bytes]:
    model = joblib.load(os.environ["BENCH_MODEL"])
    predict = model.predict_proba
    if os.environ.get("BENCH_ACCELERATED"):  # the server's verified fast path, where there is one
        from scoring_runtime.runtimes.python.accelerate import accelerate

        inputs = model.n_features_in_
        fast, _ = accelerate(model, inputs, np.empty((0, inputs)), model.predict_proba)
        predict = fast.predict if fast is not None else predict

    def score(body: bytes) -> bytes:
        rows = np.array(orjson.loads(body)["rows"], dtype=np.float64)
        probabilities = predict(rows)
        return orjson.dumps({"score": [[repr(v) for v in row] for row in probabilities.tolist()]})

    return score


def raw_app() -> ASGIApp:
    score = _scorer()

    async def app(
        scope: dict[str, Any], receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        out = b"ok" if scope["method"] == "GET" else score(b"".join(chunks))
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": out})

    return app


def fastapi_app() -> FastAPI:
    score = _scorer()
    app = FastAPI()

    @app.get("/ready")
    async def ready() -> Response:
        return Response(b"ok")

    @app.post("/score")
    async def scored(request: Request) -> Response:
        return Response(score(await request.body()), media_type="application/json")

    return app
