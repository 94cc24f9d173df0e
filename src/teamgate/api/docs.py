"""/docs (Swagger UI) and /redoc, served from this installation: the JavaScript and CSS come from
the `fastapi-offline` package (no CDN, so nothing unpinned runs next to a signed-in session) and
the pages load no inline script. Turned off with TEAMGATE_API_DOCS=false.

The CSP here differs from the pages' (web/common.py) in one respect: style-src allows inline
styles, which both UIs set from their scripts (Redoc's styled-components writes <style> elements).
Scripts stay 'self' only; the documents they show are this service's own OpenAPI document."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

OFFLINE = Path(str(files("fastapi_offline").joinpath("static")))
OURS = Path(__file__).parent / "docs_assets"
ASSETS = {
    "swagger-ui-bundle.js": (OFFLINE, "text/javascript"),
    "swagger-ui.css": (OFFLINE, "text/css"),
    "redoc.standalone.js": (OFFLINE, "text/javascript"),
    "favicon.png": (OFFLINE, "image/png"),
    "swagger-init.js": (OURS, "text/javascript"),
}
ASSET_PATH = "/docs/assets"
DOCS_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
                               "form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
HEAD = ('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<link rel="icon" href="{ASSET_PATH}/favicon.png">\n')

router = APIRouter(include_in_schema=False)


def _page(html: str) -> HTMLResponse:
    return HTMLResponse(html, headers=DOCS_HEADERS)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return _page(HEAD.format(title=f"{request.app.title} API") +
                 f'<link rel="stylesheet" href="{ASSET_PATH}/swagger-ui.css">\n</head>\n<body>\n'
                 f'<div id="swagger-ui" data-openapi-url="{request.app.openapi_url}"></div>\n'
                 f'<script src="{ASSET_PATH}/swagger-ui-bundle.js"></script>\n'
                 f'<script src="{ASSET_PATH}/swagger-init.js"></script>\n</body>\n</html>\n')


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return _page(HEAD.format(title=f"{request.app.title} API") +
                 f'</head>\n<body>\n<redoc spec-url="{request.app.openapi_url}"></redoc>\n'
                 f'<script src="{ASSET_PATH}/redoc.standalone.js"></script>\n</body>\n</html>\n')


@router.get(ASSET_PATH + "/{name}")
async def asset(name: str) -> Response:
    if name not in ASSETS:  # a fixed list: no path from the request reaches the file system
        return Response(status_code=404)
    folder, media_type = ASSETS[name]
    return FileResponse(folder / name, media_type=media_type,
                        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"})
