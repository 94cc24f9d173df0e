"""`/login` and `/logout`, with a return to where the person was going (an invitation, say)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request

from teamgate import errors
from teamgate.api.deps import client_ip, runtime
from teamgate.api.routes.common import clear_session_cookie, set_session_cookie
from teamgate.domain.emails import normalize_email
from teamgate.services import accounts
from teamgate.storage.db import unit_of_work
from teamgate.web.common import check_form, form_token, page, posted_by, redirect, safe_next, viewer

router = APIRouter(include_in_schema=False)
Next = Annotated[str, Query(max_length=500)]


@router.get("/login")
async def login_form(request: Request, next: Next = "/console"):
    async with unit_of_work(runtime(request).sessions) as db:
        who = await viewer(db, request)
    if who.signed_in:
        return redirect(safe_next(next))
    return page(request, "login.html", csrf=form_token(request, who), next=safe_next(next), email="", error=None,
                viewer=who)


@router.post("/login")
async def login(request: Request, email: Annotated[str, Form(max_length=320)],
                password: Annotated[str, Form(max_length=256)], csrf: Annotated[str, Form(max_length=128)] = "",
                next: Annotated[str, Form(max_length=500)] = "/console"):
    rt = runtime(request)
    who = await posted_by(request, csrf)
    try:
        await rt.limits.sign_in(client_ip(request), normalize_email(email))
        async with unit_of_work(rt.sessions) as db:
            signed_in = await accounts.login(db, rt, email=email, password=password, ip=client_ip(request),
                                             user_agent=request.headers.get("user-agent"))
    except (errors.InvalidCredentials, errors.RateLimited) as exc:
        return page(request, "login.html", status=401 if exc.code == "invalid_credentials" else 429,
                    csrf=form_token(request, who), next=safe_next(next), email=email, error=exc.detail, viewer=who)
    response = redirect(safe_next(next))
    set_session_cookie(response, rt, signed_in.token)
    return response


@router.get("/logout")
async def logout_form(request: Request, next: Next = "/login"):
    async with unit_of_work(runtime(request).sessions) as db:
        who = await viewer(db, request)
    if not who.signed_in:
        return redirect(safe_next(next, "/login"))
    return page(request, "logout.html", csrf=form_token(request, who), next=safe_next(next, "/login"), viewer=who)


@router.post("/logout")
async def logout(request: Request, csrf: Annotated[str, Form(max_length=128)] = "",
                 next: Annotated[str, Form(max_length=500)] = "/login"):
    rt = runtime(request)
    async with unit_of_work(rt.sessions) as db:
        who = await viewer(db, request)
        if who.signed_in:
            check_form(request, who, csrf)
            await accounts.end_session(db, who.session)
    response = redirect(safe_next(next, "/login"))
    clear_session_cookie(response, rt)
    return response


def login_link(path: str) -> str:
    return f"/login?next={quote(path, safe='')}"
