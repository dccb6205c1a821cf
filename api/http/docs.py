"""Documentation pages served by this app alone, so they work on a machine without internet access.

- `/docs` (Swagger UI) and `/redoc` load their scripts and styles from `/docs/assets/`, the files the
  `fastapi-offline` package ships (pinned in pyproject.toml; Swagger UI 5, ReDoc 2), never from a CDN.
  Swagger UI's online validator badge and ReDoc's Google fonts are off.
- `/problems` and `/problems/{code}`: what each problem `type` (`/problems/<code>`) means, from
  api.kernel.problems.CODES (the table in api/http/README.md).
"""
from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.http.errors import PROBLEM_TYPE_PREFIX, problem_type, title_of
from api.kernel.problems import CODES, Problem

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


def _kind(code: str) -> dict[str, Any]:
    kind = CODES[code]
    return {"type": problem_type(code), "code": code, "status": kind.status, "title": title_of(kind.status),
            "meaning": kind.meaning}


def install_docs(app: FastAPI) -> None:
    """Serve /docs, /redoc and their assets from this process (create the app with docs_url=None, redoc_url=None)."""
    assets = files("fastapi_offline") / "static"
    app.mount(ASSETS_URL, StaticFiles(directory=str(assets)), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}", init_oauth=app.swagger_ui_init_oauth,
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            # No badge fetched from validator.swagger.io.
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None})

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
                              redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png", with_google_fonts=False)

    @app.get(PROBLEM_TYPE_PREFIX.rstrip("/"), include_in_schema=False)
    async def problem_kinds() -> list[dict[str, Any]]:
        return [_kind(code) for code in CODES]

    @app.get(PROBLEM_TYPE_PREFIX + "{code}", include_in_schema=False)
    async def problem_kind(code: str) -> dict[str, Any]:
        if code not in CODES:
            raise Problem(404, f"No problem type '{code[:60]}': GET {PROBLEM_TYPE_PREFIX.rstrip('/')} lists them")
        return _kind(code)
