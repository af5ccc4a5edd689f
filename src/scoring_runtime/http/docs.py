"""Interactive API docs that work without internet: Swagger UI and ReDoc from a package's files,
at the root and under the path prefix.

FastAPI's own `/docs` loads Swagger UI from a CDN, which a production cluster usually cannot
reach: the page stays blank. The `fastapi-offline` package ships the same assets; they are
served from here, next to the OpenAPI document each page reads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

from scoring_runtime.protocols.responses import JsonResponse

ASSETS = "/docs-assets"


def asset_folder() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def add_docs(app: FastAPI, prefixes: tuple[str, ...]) -> None:
    """`/docs`, `/redoc` and `/openapi.json` under each prefix (the app is built with FastAPI's own off)."""
    folder = asset_folder()

    async def openapi() -> JsonResponse:
        return JsonResponse(app.openapi())

    for prefix in prefixes:
        app.mount(f"{prefix}{ASSETS}", StaticFiles(directory=folder), name=f"docs-assets{prefix}")
        swagger, redoc = _pages(app.title, prefix)
        app.add_api_route(f"{prefix}/docs", swagger, methods=["GET"], include_in_schema=False)
        app.add_api_route(f"{prefix}/redoc", redoc, methods=["GET"], include_in_schema=False)
        if prefix:
            app.add_api_route(f"{prefix}/openapi.json", openapi, methods=["GET"], include_in_schema=False)


def _pages(
    title: str, prefix: str
) -> tuple[Callable[[], Awaitable[HTMLResponse]], Callable[[], Awaitable[HTMLResponse]]]:
    """The two pages for one prefix (closures: nothing of the request reaches the HTML)."""
    assets = f"{prefix}{ASSETS}"

    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{prefix}/openapi.json",
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
        )

    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=f"{prefix}/openapi.json",
            title=f"{title} - ReDoc",
            redoc_js_url=f"{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{assets}/favicon.png",
            with_google_fonts=False,
        )

    return swagger, redoc
