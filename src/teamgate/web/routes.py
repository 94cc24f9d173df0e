"""All pages, and the stylesheet they share."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from teamgate.web import account, auth, bulk, console, invite, join, join_console, recovery, setup, webhooks
from teamgate.web.common import HERE, redirect

router = APIRouter(include_in_schema=False)
for module in (setup, invite, join, auth, console, bulk, join_console, recovery, account, webhooks):
    router.include_router(module.router)


@router.get("/static/{name}")
async def static(name: str):
    path = HERE / "static" / name
    kinds = {".css": "text/css", ".js": "text/javascript"}
    if path.suffix not in kinds or path.name != name or not path.is_file():
        return Response(status_code=404)
    return Response(path.read_bytes(), media_type=kinds[path.suffix],
                    headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})


@router.get("/")
async def home():
    return redirect("/console")
