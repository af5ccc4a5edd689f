"""The page at `/` for people: a model's card, a form to score it, its Shapley values as bars.

It is static files plus the public API: the script in `page/` calls `/model/schema`,
`/model/score`, … with the credential the person types (kept in the tab's session storage),
so it shows exactly what a client gets and needs nothing the API does not offer. No CDN: the
files come from the package, like the API docs' files.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Awaitable, Callable
from pathlib import Path
from string import Template

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from scoring_runtime.deployments.registry import ModelRegistry

FOLDER = Path(__file__).parent / "page"
ASSETS = "/page-assets"


def add_page(app: FastAPI, prefixes: tuple[str, ...]) -> None:
    """The page for the root's deployment at `<prefix>/`, its files at `<prefix>/page-assets/`."""
    template = _template()
    for prefix in prefixes:
        app.mount(f"{prefix}{ASSETS}", StaticFiles(directory=FOLDER), name=f"page-assets{prefix}")
        app.add_api_route(f"{prefix}/", _root_page(template, prefix), methods=["GET"], include_in_schema=False)
        if prefix:
            app.add_api_route(prefix, _redirect(f"{prefix}/"), methods=["GET"], include_in_schema=False)


def add_deployment_pages(app: FastAPI, prefixes: tuple[str, ...], registry: ModelRegistry) -> None:
    """`<prefix>/<deployment>/`: the same page over that deployment's routes. Added after every
    fixed path, as the deployments' own routes are; an unknown name is the protocol's 404."""
    template = _template()
    for prefix in prefixes:
        page = _deployment_page(template, prefix, registry)
        app.add_api_route(f"{prefix}/{{deployment}}/", page, methods=["GET"], include_in_schema=False)


@functools.cache
def _template() -> Template:
    return Template((FOLDER / "index.html").read_text(encoding="utf-8"))


def _root_page(template: Template, prefix: str) -> Callable[[], Awaitable[HTMLResponse]]:
    async def page() -> HTMLResponse:
        return _render(template, prefix, f"{prefix}/", "")

    return page


def _deployment_page(
    template: Template, prefix: str, registry: ModelRegistry
) -> Callable[[Request, str], Awaitable[HTMLResponse]]:
    """A closure, not a default argument: FastAPI would read a defaulted parameter from the query
    string, and a `?prefix=//elsewhere` would send the page's calls (and credential) elsewhere."""

    async def page(request: Request, deployment: str) -> HTMLResponse:
        registry.deployment(deployment)
        return _render(template, prefix, f"{prefix}/{deployment}/", deployment)

    return page


def _redirect(target: str) -> Callable[[], Awaitable[RedirectResponse]]:
    async def redirect() -> RedirectResponse:
        return RedirectResponse(target, status_code=308)

    return redirect


def _render(template: Template, prefix: str, api: str, deployment: str) -> HTMLResponse:
    """`api` is where the page's calls go; `root` where `/docs` and `/v2` are."""
    values = {"root": prefix, "api": api, "assets": f"{prefix}{ASSETS}", "deployment": deployment}
    page = template.substitute({key: html.escape(value, quote=True) for key, value in values.items()})
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})
