from __future__ import annotations

import httpx


def assert_error(response: httpx.Response, status: int, fragment: str = "") -> str:
    """An error as API.md wants it: the status, and a body that is exactly one readable sentence."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["detail"] and isinstance(body["detail"], str), body
    detail = body["detail"]
    assert detail.endswith(".") and "\n" not in detail and "Traceback" not in detail, detail
    assert fragment in detail, (fragment, detail)
    return detail
