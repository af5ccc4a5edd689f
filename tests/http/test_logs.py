"""Request ids and the JSON log formatter."""

from __future__ import annotations

import json
import logging
import logging.config
import re

from scoring_runtime.http.logs import ACCESS_LOGGER, JsonFormatter, logging_config, request_id, request_line
from scoring_runtime.http.observer import _RequestIds


def test_generated_request_ids_are_unique_32_hex_digits_and_new_after_a_fork():
    ids = _RequestIds()
    first = [ids.next() for _ in range(1000)]
    assert len(set(first)) == 1000 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in first)
    ids._pid = -1  # as a forked child sees it
    assert ids.next()[:16] != first[0][:16]


def test_log_lines_are_json_with_the_request_id_and_extras():
    token = request_id.set("rid-1")
    try:
        record = logging.makeLogRecord({"name": "scorer.request", "msg": "request", "levelname": "INFO", "rows": 3})
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert line["request_id"] == "rid-1" and line["rows"] == 3 and line["msg"] == "request"


def test_uvicorns_coloured_copy_of_a_message_is_left_out():
    record = logging.makeLogRecord(
        {"name": "uvicorn.error", "msg": "Started", "levelname": "INFO", "color_message": "\x1b[36mStarted\x1b[0m"}
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "Started" and "color_message" not in line


def _configured(capsys) -> logging.Logger:
    logging.config.dictConfig(logging_config("info"))
    capsys.readouterr()
    return logging.getLogger(ACCESS_LOGGER)


def _flushed_lines(capsys) -> list[dict]:
    for handler in logging.getLogger("scorer").handlers:
        handler.flush()
    return [json.loads(line) for line in capsys.readouterr().err.splitlines()]


def test_a_request_line_written_directly_reads_as_the_formatters_line(capsys):
    logger = _configured(capsys)
    fields = {"method": "POST", "route": "/model/score", "status": 200, "rows": 1}
    token = request_id.set("rid-2")
    try:
        request_line(logger, fields)
        logger.info("request", extra=fields)
    finally:
        request_id.reset(token)
    direct, formatted = _flushed_lines(capsys)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", direct.pop("ts"))
    formatted.pop("ts")
    assert list(direct) == list(formatted) and direct == formatted


def test_another_handler_gets_an_ordinary_record(capsys):
    logger = _configured(capsys)
    seen: list[logging.LogRecord] = []
    extra = logging.Handler()
    extra.emit = seen.append  # type: ignore[method-assign]
    logger.addHandler(extra)
    try:
        request_line(logger, {"route": "/model/score", "status": 200})
    finally:
        logger.removeHandler(extra)
    assert [record.route for record in seen] == ["/model/score"]  # type: ignore[attr-defined]
    assert [line["route"] for line in _flushed_lines(capsys)] == ["/model/score"]


def test_a_request_line_below_the_loggers_level_is_not_written(capsys):
    logger = _configured(capsys)
    logger.setLevel(logging.WARNING)
    try:
        request_line(logger, {"route": "/model/score"})
    finally:
        logger.setLevel(logging.NOTSET)
    assert _flushed_lines(capsys) == []
