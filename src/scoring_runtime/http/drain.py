"""The start of a drain, seen by the app: uvicorn tells the app only once every HTTP connection
has finished (the lifespan's shutdown), and until then the gRPC service kept taking new calls and
answering `ServerReady` true, so a client or load balancer never learnt to go elsewhere.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import anyio

GRACEFUL_SHUTDOWN_SECONDS = 30
"""How long a drain lets accepted requests finish, HTTP and gRPC alike."""

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def stop_grpc_when_draining(grpc_server: Any) -> None:
    """Stop the gRPC server as soon as a stop signal starts the drain: new calls, `ServerReady`
    among them, are refused UNAVAILABLE while the calls in flight finish."""
    draining = anyio.Event()
    loop = asyncio.get_running_loop()
    restore = _chain_stop_signals(lambda: loop.call_soon_threadsafe(draining.set))
    try:
        await draining.wait()
        with anyio.CancelScope(shield=True):  # the lifespan's end waits for the calls in flight too
            await grpc_server.stop(grace=GRACEFUL_SHUTDOWN_SECONDS)
    finally:
        restore()


def _chain_stop_signals(callback: Callable[[], None]) -> Callable[[], None]:
    """Run `callback`, then the server's own handler, on each stop signal; returns the undo. Only
    where a server handles the signals (uvicorn's handler is in place while the app runs): an app
    run by a test client in a thread has no signals to watch."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    if not all(callable(handler) for handler in previous.values()):
        return lambda: None

    def handler(sig: int, frame: FrameType | None) -> None:
        callback()
        previous[sig](sig, frame)  # type: ignore[operator]

    for sig in STOP_SIGNALS:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, original in previous.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, original)

    return restore
