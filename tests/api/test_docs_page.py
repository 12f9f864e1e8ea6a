"""GET /docs works with no internet access: Swagger UI's files come from the app itself."""

from __future__ import annotations

import re

from tests.api.conftest import Api


async def test_the_docs_page_loads_swagger_ui_from_the_app_not_a_cdn(api: Api) -> None:
    page = await api.client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sorted(sources) == [
        "/docs/assets/favicon-32x32.png",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
    ]
    assert "url: '/openapi.json'" in page.text
    script = await api.client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert len(script.content) > 500_000  # the whole bundle, not an error page
    assert (await api.client.get("/docs/assets/swagger-ui.css")).status_code == 200
    # ReDoc would load from a CDN too: not offered.
    assert (await api.client.get("/redoc")).status_code == 404
