"""Slow and broken clients on a real server: silent connections, trickled heads and bodies, a
connection limit and malformed HTTP, each answered in the JSON error shape (or closed) in time."""

from __future__ import annotations

import json
import socket
import time

import pytest

from tests.server_process import REPO, start_server

pytestmark = pytest.mark.integration

MODEL = REPO / "models" / "hydraulic" / "cool_cond_y.joblib"
LIMITS = {
    "SCORER_READ_TIMEOUT": "1",
    "SCORER_MIN_BODY_RATE": "1000",
    "SCORER_KEEP_ALIVE_TIMEOUT": "1",
    "SCORER_MAX_CONNECTIONS": "20",
}


@pytest.fixture(scope="module")
def server(server_logs):
    server = start_server(MODEL, server_logs, env=LIMITS)
    yield server
    server.stop()


def _connect(server) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _answer(connection: socket.socket) -> tuple[str, dict, float]:
    """Reads until the server closes: the status line, the JSON body, and when it closed."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return head.decode(), json.loads(body) if body else {}, time.monotonic()


def test_a_silent_new_connection_is_closed_like_an_idle_one(server):
    with _connect(server) as connection:
        started = time.monotonic()
        head, _, closed = _answer(connection)
    assert head == "" and 0.8 < closed - started < 3


def test_a_trickled_head_gets_408_in_the_json_shape(server):
    with _connect(server) as connection:
        connection.sendall(b"POST /model/score HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        head, body, closed = _answer(connection)
    assert head.startswith("HTTP/1.1 408") and "connection: close" in head.lower()
    assert body == {"detail": "The request's head did not arrive within 1 s (SCORER_READ_TIMEOUT)."}
    assert closed - started < 3


def test_a_trickled_head_on_v2_gets_the_v2_shape(server):
    with _connect(server) as connection:
        connection.sendall(b"POST /v2/models/x/infer HTTP/1.1\r\nHost: x\r\n")
        head, body, _ = _answer(connection)
    assert head.startswith("HTTP/1.1 408") and set(body) == {"error"}


def test_a_body_slower_than_the_minimum_rate_gets_408(server):
    body = json.dumps({"fields": ["a"], "rows": [["1"]] * 2000}).encode()  # 16 kB: at 1000 B/s, 17 s allowed
    with _connect(server) as connection:
        connection.sendall(
            b"POST /model/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        started = time.monotonic()
        try:
            for offset in range(0, len(body), 100):  # 100 bytes every 0.2 s = 500 B/s
                connection.sendall(body[offset : offset + 100])
                time.sleep(0.2)
        except OSError:  # the server answered and closed
            pass
        head, answer, closed = _answer(connection)
    assert head.startswith("HTTP/1.1 408"), head
    assert answer["detail"].startswith("The request body did not arrive within 1 s plus 1 s per 1000 bytes")
    assert closed - started < 10


def test_a_body_at_a_fair_rate_is_scored(server):
    body = json.dumps(_sample(server)).encode()
    with _connect(server) as connection:
        connection.sendall(_score_head(body, b"Connection: close\r\n"))
        for offset in range(0, len(body), 400):  # well above 1000 B/s, in pieces over ~0.5 s
            connection.sendall(body[offset : offset + 400])
            time.sleep(0.05)
        head, answer, _ = _answer(connection)
    assert head.startswith("HTTP/1.1 200") and "score" in answer


def test_malformed_http_gets_400_in_the_json_shape(server):
    for request in (
        b"POST /model/score HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n",
        b"POST /v2/models/x/infer HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n",
        b"NOT HTTP AT ALL\r\n\r\n",
    ):
        with _connect(server) as connection:
            connection.sendall(request)
            head, body, _ = _answer(connection)
        assert head.startswith("HTTP/1.1 400"), head
        assert list(body.values()) == ["The request is not valid HTTP/1.1: its request line, a header or its framing."]


def test_connections_past_the_limit_get_503_and_the_rest_still_work(server):
    held = [_connect(server) for _ in range(20)]
    try:
        time.sleep(0.2)
        with _connect(server) as extra:
            head, body, _ = _answer(extra)
        assert head.startswith("HTTP/1.1 503") and "retry-after: 1" in head.lower()
        assert body == {"detail": "The server has 20 connections open already; retry shortly."}
    finally:
        for connection in held:
            connection.close()
    time.sleep(0.2)
    with server.client() as client:
        assert client.get("/readyz").text == "Ready"
        assert client.post("/model/score", json=_sample(server)).status_code == 200


def test_a_kept_alive_connection_is_closed_after_the_idle_timeout(server):
    with _connect(server) as connection:
        connection.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.1)
        assert connection.recv(65536).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        head, _, closed = _answer(connection)
    assert head == "" and 0.8 < closed - started < 3


def _score_head(body: bytes, extra: bytes = b"") -> bytes:
    """The head of a POST /model/score carrying `body`, with `extra` header lines."""
    return (
        b"POST /model/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + extra
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )


def _sample(server) -> dict:
    with server.client() as client:
        return client.get("/model/sample_request").json()


def _read_answers(connection: socket.socket, count: int) -> list[tuple[str, bytes]]:
    """Reads `count` answers with a content-length off a kept-alive connection."""
    received, answers = b"", []
    while len(answers) < count:
        head, separator, rest = received.partition(b"\r\n\r\n")
        if separator:
            fields = dict(line.split(": ", 1) for line in head.decode().lower().split("\r\n")[1:])
            length = int(fields.get("content-length", "0"))
            if len(rest) >= length:
                answers.append((head.decode(), rest[:length]))
                received = rest[length:]
                continue
        chunk = connection.recv(65536)
        assert chunk, f"the server closed after {len(answers)} answers"
        received += chunk
    return answers


def test_pipelined_requests_get_whole_answers_in_order(server):
    body = json.dumps(_sample(server)).encode()
    score = _score_head(body) + body
    with _connect(server) as connection:
        connection.sendall(score + b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n" + score)
        answers = _read_answers(connection, 3)
    assert [head.split("\r\n")[0] for head, _ in answers] == ["HTTP/1.1 200 OK"] * 3
    assert "score" in json.loads(answers[0][1]) and answers[0][1] == answers[2][1]


def test_a_head_request_is_answered_and_the_connection_stays_usable(server):
    with _connect(server) as connection:
        connection.sendall(b"HEAD /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        head = connection.recv(65536).decode()
        assert head.startswith("HTTP/1.1 ") and head.endswith("\r\n\r\n")
        connection.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        [(answer, _)] = _read_answers(connection, 1)
    assert answer.startswith("HTTP/1.1 200")


def test_expect_100_continue_gets_continue_before_the_answer(server):
    body = json.dumps(_sample(server)).encode()
    with _connect(server) as connection:
        connection.sendall(_score_head(body, b"Expect: 100-continue\r\n"))
        assert connection.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        connection.sendall(body)
        [(head, answer)] = _read_answers(connection, 1)
    assert head.startswith("HTTP/1.1 200") and "score" in json.loads(answer)
