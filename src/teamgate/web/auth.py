"""`/login` and `/logout`, with a return to where the person was going (an invitation, say)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request

from teamgate import errors
from teamgate.domain.emails import normalize_email
from teamgate.http.cookies import clear_session_cookie, set_session_cookie
from teamgate.http.deps import Db, after_refusal, client_ip, runtime
from teamgate.http.forms import check_form, form_token, posted_by, viewer
from teamgate.services import accounts
from teamgate.web.common import page, redirect, safe_next

router = APIRouter(include_in_schema=False)
Next = Annotated[str, Query(max_length=500)]


@router.get("/login")
async def login_form(request: Request, db: Db, next: Next = "/console"):
    who = await viewer(db, request)
    if who.signed_in:
        return redirect(safe_next(next))
    return page(request, "login.html", csrf=form_token(request, who), next=safe_next(next), email="", error=None,
                viewer=who)


@router.post("/login")
async def login(request: Request, db: Db, email: Annotated[str, Form(max_length=320)],
                password: Annotated[str, Form(max_length=256)], csrf: Annotated[str, Form(max_length=128)] = "",
                next: Annotated[str, Form(max_length=500)] = "/console"):
    rt = runtime(request)
    who = await posted_by(db, request, csrf)
    try:
        await rt.limits.sign_in(client_ip(request), normalize_email(email))
        signed_in = await accounts.login(db, rt, email=email, password=password, ip=client_ip(request),
                                         user_agent=request.headers.get("user-agent"))
    except (errors.InvalidCredentials, errors.RateLimited) as exc:
        async with after_refusal(request, db) as again:  # a second transaction: the form, shown again
            who = await viewer(again, request)
            return page(request, "login.html", status=401 if exc.code == "invalid_credentials" else 429,
                        csrf=form_token(request, who), next=safe_next(next), email=email, error=exc.detail,
                        viewer=who)
    response = redirect(safe_next(next))
    set_session_cookie(response, rt, signed_in.token)
    return response


@router.get("/logout")
async def logout_form(request: Request, db: Db, next: Next = "/login"):
    who = await viewer(db, request)
    if not who.signed_in:
        return redirect(safe_next(next, "/login"))
    return page(request, "logout.html", csrf=form_token(request, who), next=safe_next(next, "/login"), viewer=who)


@router.post("/logout")
async def logout(request: Request, db: Db, csrf: Annotated[str, Form(max_length=128)] = "",
                 next: Annotated[str, Form(max_length=500)] = "/login"):
    rt = runtime(request)
    who = await viewer(db, request)
    if who.signed_in:
        check_form(request, who, csrf)
        await accounts.end_session(db, who.session)
    response = redirect(safe_next(next, "/login"))
    clear_session_cookie(response, rt)
    return response


def login_link(path: str) -> str:
    return f"/login?next={quote(path, safe='')}"
