"""``/docs``: Swagger UI served from the installed package, never from a CDN.

FastAPI's default page loads Swagger UI's JavaScript and CSS from a CDN, so it is blank on a
machine without internet access — where roost is often run. The same files ship inside the
``fastapi-offline`` package (a dependency); roost mounts its static folder and points the page
at it, so the page and everything it loads come from this roost serve.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"


def _assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def add_docs(app: FastAPI, *, openapi_url: str) -> None:
    """Serve Swagger UI at ``/docs`` for ``openapi_url``, its assets under ``/docs/assets``."""
    app.mount(ASSETS_URL, StaticFiles(directory=_assets_dir()), name="docs-assets")
    redirect_url = f"{DOCS_URL}/oauth2-redirect"
    title = f"{app.title} - API"

    @app.get(DOCS_URL, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            oauth2_redirect_url=redirect_url,
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            # Swagger UI's default validator badge is an image from a public validator host.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(redirect_url, include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
