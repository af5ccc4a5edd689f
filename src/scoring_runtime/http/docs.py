"""Interactive API docs that work without internet: Swagger UI and ReDoc from a package's files,
at the root and under the path prefix.

FastAPI's own `/docs` loads Swagger UI from a CDN, which a production cluster usually cannot
reach: the page stays blank. The `fastapi-offline` package ships the same assets; they are
served from here, next to the OpenAPI document each page reads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

from scoring_runtime.protocols.responses import JsonResponse

ASSETS = "/docs-assets"


def asset_folder() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


Examples = Callable[[], dict[tuple[str, str], dict[str, Any]]]
"""The loaded model's request examples by (method, path); empty while no model is ready."""


def add_docs(app: FastAPI, prefixes: tuple[str, ...], examples: Examples) -> None:
    """`/docs`, `/redoc` and `/openapi.json` under each prefix (the app is built with FastAPI's own off)."""
    folder = asset_folder()
    generate = app.openapi

    def document() -> dict[str, Any]:
        """FastAPI's document, told the truth: no 422 (validation errors are the protocols' 400s),
        and "Try it out" pre-filled with requests this model scores. Kept once a model gave examples."""
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = generate()
        app.openapi_schema = None  # FastAPI caches its own; ours decides below
        found = examples()
        for path, operations in doc.get("paths", {}).items():
            for method, operation in operations.items():
                operation.get("responses", {}).pop("422", None)
                example = found.get((method.upper(), path))
                content = operation.get("requestBody", {}).get("content", {}).get("application/json")
                if example is not None and content is not None:
                    content["example"] = example
        for name in ("HTTPValidationError", "ValidationError"):
            doc.get("components", {}).get("schemas", {}).pop(name, None)
        if found:
            app.openapi_schema = doc
        return doc

    app.openapi = document  # type: ignore[method-assign]

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
