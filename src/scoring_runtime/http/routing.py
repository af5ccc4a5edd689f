"""The app's route class and its shortcut: endpoints with nothing for FastAPI to solve are called
directly, and requests for their fixed paths reach them without the router."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Match, Router, request_response
from starlette.types import ASGIApp, Receive, Scope, Send


class DirectRoute(APIRoute):
    """An `APIRoute` (matched, documented and guarded like any other) whose endpoint, when it takes
    the request and nothing else (no dependency, parameter or body), is called straight from Starlette's
    request/response wrapper. FastAPI's own handler still solves an empty set of dependencies and
    opens two exit stacks on every request: measured ~25 µs of a one-row score request's ~220 µs
    in process. What the endpoint returns is a `Response` either way, which FastAPI passes on
    unchanged, and its errors reach the same exception handlers."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        super().__init__(path, endpoint, **options)
        self.direct = _nothing_to_solve(self)
        if self.direct:
            self.app = request_response(endpoint)


def _nothing_to_solve(route: APIRoute) -> bool:
    found = route.dependant
    if found.request_param_name is None or len(inspect.signature(route.endpoint).parameters) != 1:
        return False
    return not (
        found.dependencies
        or found.path_params
        or found.query_params
        or found.header_params
        or found.cookie_params
        or found.body_params
        or found.websocket_param_name
        or found.http_connection_param_name
        or found.response_param_name
        or found.background_tasks_param_name
        or found.security_scopes_param_name
    )


class FixedPaths:
    """Innermost middleware: a request for a fixed path (no path parameters) served by a direct
    `DirectRoute` goes straight to that route. The router's walk over every route, FastAPI's
    exit stack and the exception middleware's own wrap (the route's wrapper has one too) were
    ~15 µs of a one-row score request; only these routes need none of them. A path is taken
    here only if no route before its own would match it, so the router would pick the same
    route; the exception handlers are the exception middleware's, so errors map as before. If
    the layer beneath is not the Starlette exception middleware this knows, every request takes
    the full stack."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router
        self._table: dict[tuple[str, str], DirectRoute] | None = None
        self._handlers: tuple[Any, Any] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            table = self._table if self._table is not None else self._build()
            route = table.get((scope["method"], scope["path"]))
            if route is not None:
                scope["starlette.exception_handlers"] = self._handlers
                scope["router"] = self.router
                scope["endpoint"] = route.endpoint
                scope["route"] = route
                scope["path_params"] = {}
                await route.app(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _build(self) -> dict[tuple[str, str], DirectRoute]:
        """Made on the first request, when every route has been added."""
        layer = self.app
        handlers = (getattr(layer, "_exception_handlers", None), getattr(layer, "_status_handlers", None))
        table: dict[tuple[str, str], DirectRoute] = {}
        if isinstance(layer, ExceptionMiddleware) and None not in handlers:
            self._handlers = handlers
            routes = self.router.routes
            for index, route in enumerate(routes):
                if not (isinstance(route, DirectRoute) and route.direct and route.param_convertors == {}):
                    continue
                for method in route.methods or ():
                    probe = {"type": "http", "path": route.path, "root_path": "", "method": method}
                    if not any(earlier.matches(probe)[0] is not Match.NONE for earlier in routes[:index]):
                        table.setdefault((method, route.path), route)
        self._table = table
        return table
