"""Pages. For now: the first-owner setup page behind the link `teamgate serve` prints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from teamgate import errors
from teamgate.api.deps import client_ip
from teamgate.api.routes.common import set_session_cookie
from teamgate.services import accounts
from teamgate.storage.db import unit_of_work

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, {"product": request.app.state.rt.settings.product_name,
                                                          **context}, status_code=status)
    response.headers.update(PAGE_HEADERS)
    return response


@router.get("/static/teamgate.css")
async def stylesheet():
    response = HTMLResponse((HERE / "static" / "teamgate.css").read_text(), media_type="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/setup", response_class=HTMLResponse)
async def setup_form(request: Request, token: Annotated[str, Query(max_length=128)] = ""):
    rt = request.app.state.rt
    try:
        async with unit_of_work(rt.sessions) as db:
            link = await accounts.setup_token(db, rt, token)
    except errors.NotFound as exc:
        return page(request, "setup_invalid.html", status=404, message=exc.detail)
    return page(request, "setup.html", token=token, email=link.email or "", error=None)


@router.post("/setup", response_class=HTMLResponse)
async def setup_submit(request: Request, token: Annotated[str, Form(max_length=128)],
                       email: Annotated[str, Form(max_length=320)], first_name: Annotated[str, Form(max_length=100)],
                       last_name: Annotated[str, Form(max_length=100)], password: Annotated[str, Form(max_length=256)]):
    """The setup token in the form is what a cross-site forger cannot know, so it doubles as the CSRF check."""
    rt = request.app.state.rt
    try:
        async with unit_of_work(rt.sessions) as db:
            signed_in = await accounts.complete_setup(db, rt, token=token, email=email, first_name=first_name,
                                                      last_name=last_name, password=password, ip=client_ip(request),
                                                      user_agent=request.headers.get("user-agent"))
    except errors.NotFound as exc:
        return page(request, "setup_invalid.html", status=404, message=exc.detail)
    except errors.TeamgateError as exc:
        return page(request, "setup.html", status=422, token=token, email=email, error=exc.detail,
                    first_name=first_name, last_name=last_name)
    response = page(request, "setup_done.html", user=signed_in.user, base_url=rt.settings.base_url.rstrip("/"))
    set_session_cookie(response, rt, signed_in.token)
    return response
