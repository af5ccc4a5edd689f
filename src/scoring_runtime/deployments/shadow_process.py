"""A challenger model scoring in a process of its own, so its CPU never competes with the
champion's requests for the serving process's interpreter lock.

Measured with a scikit-learn pipeline as both champion and challenger, one connection: scoring
the challenger on a thread of the serving process doubled the champion's p50 (15 → 31 ms), the
two fighting for the GIL; in a process of its own the challenger runs on another core.

The process is spawned (a JVM started before a fork hangs in the child), loads the model from
the same entry with the same settings, and is told which generation of the model to score with:
after a reload in the server it loads the new one before its next request. If it dies, the next
request starts a new one.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from scoring_runtime.core.errors import ModelFailed
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.model import ServedModel
from scoring_runtime.deployments.config import ModelEntry
from scoring_runtime.settings import Settings

log = logging.getLogger("scorer")
STOP_SECONDS = 5.0


class ShadowProcess:
    def __init__(self, settings: Settings, name: str, current: Callable[[], tuple[int, ModelEntry]]) -> None:
        """`current()`: the generation and entry of the model the server serves under `name` now."""
        self._settings = settings
        self.name = name
        self._current = current
        self._lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None

    def warm(self) -> None:
        """Start the process and load the model before the first request needs them."""
        self._call("load", None)

    def score(self, frame: Frame) -> np.ndarray:
        """The challenger's predictions for `frame` (blocking: called from the challenger's thread)."""
        return self._call("score", frame)

    def _call(self, action: str, frame: Frame | None) -> Any:
        generation, entry = self._current()
        columns, rows = (dict(frame), frame.rows) if frame is not None else (None, 0)
        with self._lock:
            conn = self._connection()
            try:
                conn.send((action, generation, self.name, entry, columns, rows))
                status, payload = conn.recv()
            except (EOFError, OSError, BrokenPipeError):
                self._forget()
                raise ModelFailed(f"The challenger process of '{self.name}' exited; a new one starts.") from None
        if status != "ok":
            raise ModelFailed(payload)
        return payload

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(OSError, BrokenPipeError):
                    self._conn.send(("stop",))
            if self._process is not None:
                self._process.join(STOP_SECONDS)
                if self._process.is_alive():
                    self._process.kill()
                    self._process.join()
            self._forget()

    def _connection(self) -> Connection:
        if self._conn is None or self._process is None or not self._process.is_alive():
            self._forget()
            context = multiprocessing.get_context("spawn")
            parent, child = context.Pipe()
            process = context.Process(
                target=_serve, args=(child, self._settings), name=f"challenger-{self.name}", daemon=True
            )
            process.start()
            child.close()
            self._process, self._conn = process, parent
        return self._conn

    def _forget(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._process, self._conn = None, None


def _serve(conn: Connection, settings: Settings) -> None:
    """The child: score what the server sends until it says stop or goes away."""
    from scoring_runtime.deployments.loading import entry_loader

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in a terminal is the server's to handle
    load = entry_loader(settings)
    current: tuple[int, ServedModel] | None = None
    while True:
        try:
            message: tuple[Any, ...] = conn.recv()
        except (EOFError, OSError):
            break
        if message[0] == "stop":
            break
        action, generation, name, entry, columns, rows = message
        try:
            if current is None or current[0] != generation:
                if current is not None:
                    current[1].close()
                current = None
                current = (generation, load(name, entry))
            answer = current[1].score_now(Frame(columns, rows)).predictions if action == "score" else None
            conn.send(("ok", answer))
        except Exception as exc:
            conn.send(("error", getattr(exc, "detail", None) or f"{type(exc).__name__}: {exc}"))
    if current is not None:
        current[1].close()
