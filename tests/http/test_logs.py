"""Request ids and the JSON log formatter."""

from __future__ import annotations

import json
import logging
import re

from scoring_runtime.http.logs import JsonFormatter, request_id
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
