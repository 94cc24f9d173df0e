"""/docs and /redoc are served from this installation (no CDN, no inline script) under a strict
CSP, or not at all with TEAMGATE_API_DOCS=false. (tests/web/test_browser.py renders both.)"""

from __future__ import annotations

import re

import pytest

ASSET = re.compile(r'(?:src|href)="([^"]+)"')


def csp(response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {d.split()[0]: d.partition(" ")[2] for d in (p.strip() for p in policy.split(";")) if d}


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_docs_pages_load_only_this_origins_files_and_no_inline_script(harness, client, path):
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "//" not in html.replace("<!doctype html>", "")  # no other origin, not even protocol-relative
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # every script is a file
    assert csp(response)["script-src"] == "'self'"
    assert csp(response)["frame-ancestors"] == "'none'" and csp(response)["default-src"] == "'none'"
    assets = ASSET.findall(html)
    assert any(a.endswith(".js") for a in assets)
    for asset in assets:
        assert asset.startswith("/docs/assets/")
        loaded = await client.get(asset)
        assert loaded.status_code == 200, asset
        assert loaded.headers["x-content-type-options"] == "nosniff"
        assert b"cdn.jsdelivr.net" not in loaded.content


async def test_the_swagger_ui_page_points_at_this_services_openapi_document(client):
    html = (await client.get("/docs")).text
    assert 'data-openapi-url="/openapi.json"' in html
    assert (await client.get("/openapi.json")).status_code == 200


async def test_only_the_listed_assets_are_served(client):
    for name in ("..%2F..%2Fconfig.py", "core.py", "__init__.py", "nothing.js"):
        assert (await client.get(f"/docs/assets/{name}")).status_code == 404


async def test_with_api_docs_off_docs_redoc_and_their_assets_are_404(harness_with):
    client = (await harness_with(api_docs=False)).client()
    for path in ("/docs", "/redoc", "/docs/assets/swagger-ui-bundle.js", "/docs/oauth2-redirect"):
        assert (await client.get(path)).status_code == 404, path
    assert (await client.get("/openapi.json")).status_code == 200  # clients still read the document
