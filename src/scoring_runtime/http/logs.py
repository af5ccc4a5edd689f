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
        entry = _head(record.created, record.levelname.lower(), record.name, record.getMessage())
        entry.update({k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS and k != "message"})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def _head(created: float, level: str, logger: str, message: str) -> dict[str, Any]:
    """A line's first fields, the same for every line."""
    entry: dict[str, Any] = {"ts": _timestamp(created), "level": level, "logger": logger, "msg": message}
    if (current := request_id.get()) is not None:
        entry["request_id"] = current
    return entry


_second: tuple[int, str] = (-1, "")


def _timestamp(created: float) -> str:
    """ISO 8601 UTC to the millisecond; the date and time up to the second are made once per
    second (a `datetime` and its `isoformat` were ~2 µs of every request's line)."""
    global _second
    second = int(created)
    if _second[0] != second:
        _second = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_second[1]}.{int((created - second) * 1000):03d}+00:00"


def request_line(logger: logging.Logger, fields: dict[str, Any]) -> None:
    """A request's line on `logger` at INFO. When the server's own handler is the only one the
    line reaches (the configuration `logging_config` makes), the line goes to it directly: a
    `LogRecord` and logging's dispatch were ~15 µs of a one-row request's ~300 µs of server CPU.
    Any other configuration gets an ordinary record."""
    if not logger.isEnabledFor(logging.INFO):
        return
    handler = _sole_handler(logger)
    if handler is None:
        logger.info("request", extra=fields)
        return
    entry = _head(time.time(), "info", logger.name, "request")
    entry.update(fields)
    handler.write_request(orjson.dumps(entry, default=str).decode())


def _sole_handler(logger: logging.Logger) -> BufferedStderrHandler | None:
    """The one handler of ours, with our formatter and no filters, that a record on `logger` at
    INFO would reach; None for anything else."""
    found: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters:
            return None
        found += current.handlers
        if not current.propagate:
            break
        current = current.parent
    if len(found) != 1:
        return None
    handler = found[0]
    if (
        type(handler) is not BufferedStderrHandler
        or handler.filters
        or handler.level > logging.INFO
        or type(handler.formatter) is not JsonFormatter
    ):
        return None
    return handler


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
            self._write(self.format(record), record.name == ACCESS_LOGGER and record.levelno < logging.WARNING)
        except Exception:
            self.handleError(record)

    def write_request(self, line: str) -> None:
        """A request's line, formatted already (`request_line`)."""
        with self.lock:  # type: ignore[union-attr]
            self._write(line, held=True)

    def _write(self, line: str, held: bool) -> None:
        """`line` out, at once or, if `held`, within `interval`."""
        self.stream.write(line + self.terminator)
        if not held:
            self.stream.flush()
        elif not self._held.is_set():
            self._held.set()
        if self._flusher_pid != os.getpid():  # a forked child has no flusher thread yet
            self._flusher_pid = os.getpid()
            self._held = threading.Event()
            threading.Thread(target=self._flush_periodically, args=(self._held,), name="log-flush", daemon=True).start()
            self._held.set()

    def _flush_periodically(self, held: threading.Event) -> None:
        while True:
            held.wait()
            time.sleep(self.interval)
            held.clear()  # before the flush: a line written after it sets the event again
            try:
                self.flush()
            except (OSError, ValueError):  # the stream was closed under the handler: nothing to write to
                return


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
