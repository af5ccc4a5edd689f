"""The app's route class: request-only endpoints bypass FastAPI's handler, nothing else does; and
the fixed-path shortcut to them, which must pick the route the router would."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import Depends, FastAPI, HTTPException, Query
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse

from scoring_runtime.http.routing import DirectRoute, FixedPaths


class Refused(Exception):
    pass


def _app(*, shortcut: bool = False) -> FastAPI:
    app = FastAPI()
    if shortcut:
        app.add_middleware(FixedPaths, router=app.router)
    app.router.route_class = DirectRoute
    calls: list[str] = []
    app.state.calls = calls

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> JSONResponse:
        return JSONResponse({"detail": "refused"}, status_code=400)

    async def direct(request: Request) -> PlainTextResponse:
        # FastAPI's own handler opens these exit stacks; Starlette's wrapper does not
        return PlainTextResponse(str("fastapi_inner_astack" in request.scope))

    async def routed(request: Request) -> PlainTextResponse:
        # FastAPI's exit-stack middleware, beneath the router, marks every request it sees
        return PlainTextResponse(f"{request.scope['route'].path} {'fastapi_middleware_astack' in request.scope}")

    async def failing(request: Request) -> PlainTextResponse:
        raise Refused

    async def with_query(request: Request, size: int = Query()) -> PlainTextResponse:
        return PlainTextResponse(f"{size} {'fastapi_inner_astack' in request.scope}")

    async def guard(request: Request) -> None:
        calls.append("guard")
        if request.headers.get("authorization") != "yes":
            raise HTTPException(401, "no")

    app.add_api_route("/direct", direct, methods=["POST"])
    app.add_api_route("/routed", routed, methods=["POST"])
    app.add_api_route("/{name}/shadowed", routed, methods=["POST"])
    app.add_api_route("/first/shadowed", routed, methods=["POST"])
    app.add_api_route("/failing", failing, methods=["POST"])
    app.add_api_route("/query", with_query, methods=["GET"])
    app.add_api_route("/guarded", direct, methods=["GET"], dependencies=[Depends(guard)])
    return app


def _call(app: FastAPI, method: str, path: str, **options: object) -> httpx.Response:
    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://app") as client:
            return await client.request(method, path, **options)

    return asyncio.run(call())


def test_a_request_only_endpoint_is_called_directly_and_its_errors_reach_the_handlers():
    app = _app()
    assert _call(app, "POST", "/direct").text == "False"
    answer = _call(app, "POST", "/failing")
    assert answer.status_code == 400 and answer.json() == {"detail": "refused"}
    assert _call(app, "GET", "/direct").status_code == 405


@pytest.mark.parametrize(("path", "expected"), [("/query?size=3", "3 True"), ("/query?size=x", None)])
def test_an_endpoint_with_parameters_keeps_fastapis_handler(path: str, expected: str | None):
    answer = _call(_app(), "GET", path)
    if expected is None:
        assert answer.status_code == 422
    else:
        assert answer.text == expected


def test_a_guarded_endpoint_still_runs_its_dependency():
    app = _app()
    assert _call(app, "GET", "/guarded").status_code == 401
    answer = _call(app, "GET", "/guarded", headers={"authorization": "yes"})
    assert answer.status_code == 200 and answer.text == "True" and app.state.calls == ["guard", "guard"]


def test_the_openapi_document_still_lists_direct_routes():
    paths = _call(_app(), "GET", "/openapi.json").json()["paths"]
    assert {"/direct", "/failing", "/query", "/guarded"} <= set(paths)


def test_the_shortcut_serves_fixed_direct_paths_and_their_errors_reach_the_handlers():
    app = _app(shortcut=True)
    assert _call(app, "POST", "/routed").text == "/routed False"
    answer = _call(app, "POST", "/failing")
    assert answer.status_code == 400 and answer.json() == {"detail": "refused"}
    assert _call(app, "GET", "/routed").status_code == 405
    assert _call(app, "POST", "/nowhere").status_code == 404


def test_a_path_an_earlier_route_matches_is_left_to_the_router():
    app = _app(shortcut=True)
    assert _call(app, "POST", "/first/shadowed").text == "/{name}/shadowed True"
    assert _call(_app(), "POST", "/first/shadowed").text == "/{name}/shadowed True"


def test_routes_with_something_to_solve_keep_the_full_stack_behind_the_shortcut():
    app = _app(shortcut=True)
    assert _call(app, "GET", "/guarded").status_code == 401
    assert _call(app, "GET", "/query?size=3").text == "3 True"
