"""JSON log lines on stderr, each with the id of the request it belongs to.

The request id is a context variable, so lines logged by model code in a scoring thread carry it
too. Per-request lines are written in blocks (see `BufferedStderrHandler`).
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"color_message"}
"""Left out of a line: the record's own attributes, and uvicorn's copy of its message in ANSI colours."""
ACCESS_LOGGER = "scorer.request"


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
        _lean_records()
        self.interval = interval
        self._held = threading.Event()
        self._flusher_pid: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
            if record.name != ACCESS_LOGGER or record.levelno >= logging.WARNING:
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


def _lean_records() -> None:
    """A record's caller frame, thread and process names are not in a JSON line, yet logging
    finds them for every record (~2-5 µs of each request's line); off, as the logging HOWTO's
    optimisation table offers, in each process that writes these lines (dictConfig makes this
    handler in every worker)."""
    logging._srcfile = None  # the HOWTO's own spelling: not finding the caller's file and line
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def logging_config(level: str) -> dict[str, Any]:
    """dictConfig for our loggers and uvicorn's, all as JSON lines on stderr."""
    handler = {"class": "scoring_runtime.http.logs.BufferedStderrHandler", "formatter": "json"}
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
