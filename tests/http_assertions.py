from __future__ import annotations

import httpx


def assert_error(response: httpx.Response, status: int, fragment: str = "", key: str = "detail") -> str:
    """An error as the protocol wants it: the status, and a body that is exactly one readable
    sentence under `key` (`detail` for the H2O API, `error` for V2)."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == [key] and isinstance(body[key], str), body
    detail = body[key]
    assert detail.endswith(".") and "\n" not in detail and "Traceback" not in detail, detail
    assert fragment in detail, (fragment, detail)
    return detail
