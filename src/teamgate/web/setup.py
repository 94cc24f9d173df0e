"""The first-owner setup page behind the link `teamgate serve` prints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request

from teamgate import errors
from teamgate.http.cookies import set_session_cookie
from teamgate.http.deps import Db, client_ip, runtime
from teamgate.services import accounts
from teamgate.web.common import page

router = APIRouter(include_in_schema=False)


@router.get("/setup")
async def setup_form(request: Request, db: Db, token: Annotated[str, Query(max_length=128)] = ""):
    rt = runtime(request)
    await rt.limits.setup(client_ip(request))  # RateLimited: a 429 page
    try:
        link = await accounts.setup_token(db, rt, token)
    except errors.NotFound as exc:
        return page(request, "setup_invalid.html", status=404, message=exc.detail)
    return page(request, "setup.html", token=token, email=link.email or "", error=None)


@router.post("/setup")
async def setup_submit(request: Request, db: Db, token: Annotated[str, Form(max_length=128)],
                       email: Annotated[str, Form(max_length=320)], first_name: Annotated[str, Form(max_length=100)],
                       last_name: Annotated[str, Form(max_length=100)], password: Annotated[str, Form(max_length=256)]):
    """The setup token in the form is what a cross-site forger cannot know, so it doubles as the CSRF check."""
    rt = runtime(request)
    await rt.limits.setup(client_ip(request))  # before the try below, which would show it as a form error
    try:
        signed_in = await accounts.complete_setup(db, rt, token=token, email=email, first_name=first_name,
                                                  last_name=last_name, password=password, ip=client_ip(request),
                                                  user_agent=request.headers.get("user-agent"))
    except errors.TeamgateError as exc:
        await db.rollback()  # refused: nothing of it is kept (the page below reads nothing)
        if isinstance(exc, errors.NotFound):
            return page(request, "setup_invalid.html", status=404, message=exc.detail)
        return page(request, "setup.html", status=422, token=token, email=email, error=exc.detail,
                    first_name=first_name, last_name=last_name)
    response = page(request, "setup_done.html", user=signed_in.user, base_url=rt.settings.base_url)
    set_session_cookie(response, rt, signed_in.token)
    return response
