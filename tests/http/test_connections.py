"""`HeldHead`: a sized response leaves in one write, everything else passes as uvicorn wrote it.

The transport here only records writes, so that their count can be asserted; the same paths
over a real socket and server are in tests/integration/test_slow_clients.py."""

from __future__ import annotations

from typing import Any

from scoring_runtime.http.connections import HeldHead


class Recorded:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else default


SIZED = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n"


def test_a_sized_head_leaves_with_the_body_in_one_write():
    transport = Recorded()
    held = HeldHead(transport)  # type: ignore[arg-type]
    held.write(SIZED)
    assert transport.writes == []
    held.write(b"{}")
    assert transport.writes == [SIZED + b"{}"]


def test_a_chunked_head_leaves_at_once():
    transport = Recorded()
    held = HeldHead(transport)  # type: ignore[arg-type]
    head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    held.write(head)
    held.write(b"2\r\n{}\r\n0\r\n\r\n")
    assert transport.writes == [head, b"2\r\n{}\r\n0\r\n\r\n"]


def test_100_continue_passes_and_the_final_head_is_still_held():
    transport = Recorded()
    held = HeldHead(transport)  # type: ignore[arg-type]
    held.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    held.write(SIZED)
    held.write(b"{}")
    assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n", SIZED + b"{}"]


def test_a_body_that_looks_like_a_head_is_not_held():
    transport = Recorded()
    held = HeldHead(transport)  # type: ignore[arg-type]
    held.write(SIZED)
    held.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
    held.write(b"more")
    assert transport.writes == [SIZED + b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", b"more"]


def test_close_and_any_other_use_of_the_transport_let_a_held_head_go_first():
    transport = Recorded()
    held = HeldHead(transport)  # type: ignore[arg-type]
    held.write(SIZED)
    assert held.get_extra_info("peername") == ("127.0.0.1", 1)
    assert transport.writes == [SIZED]
    held = HeldHead(transport)  # type: ignore[arg-type]
    held.write(SIZED)
    assert not held.is_closing() and transport.writes == [SIZED]
    held.close()
    assert transport.writes == [SIZED, SIZED] and transport.closed
