"""GET /docs: the interactive API docs (Swagger UI), served by the app itself.

FastAPI's default page loads Swagger UI from a CDN, which leaves it blank on a machine or a
cluster without internet access. The same page here takes the files from the
`swagger-ui-bundle-v2` package (Swagger UI 5, which reads the OpenAPI 3.1 that FastAPI
writes) under /docs/assets. ReDoc, CDN-only as well, is not offered.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

PATH = "/docs"
ASSETS = "/docs/assets"


def install(app: FastAPI) -> None:
    """Serve the docs page and its assets; `app` must be built with docs_url=None."""
    openapi_url = app.openapi_url
    if openapi_url is None:
        raise ValueError("the docs page shows the app's OpenAPI schema: keep openapi_url")

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )

    app.add_api_route(PATH, docs, methods=["GET"], include_in_schema=False)
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")
