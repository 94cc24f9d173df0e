"""`/login` and `/logout`, with a return to where the person was going (an invitation, say)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request

from teamgate import errors
from teamgate.domain.emails import normalize_email
from teamgate.domain.oidc import origin
from teamgate.http.cookies import clear_session_cookie, set_session_cookie
from teamgate.http.deps import Db, after_refusal, client_ip, runtime
from teamgate.http.forms import check_form, form_token, posted_by, viewer
from teamgate.services import accounts, oidc_clients
from teamgate.web.common import page, redirect, safe_next

router = APIRouter(include_in_schema=False)
# long enough for an OpenID Connect authorization request that sign-in continues (DESIGN 13)
Next = Annotated[str, Query(max_length=4000)]
Prompt = Annotated[str, Query(max_length=20)]


async def _continuing(db, target: str) -> dict:
    """When sign-in continues an authorization request of a registered client (to its
    registered redirect URI): the client's name for the page, and that redirect URI's origin,
    which the form may lead to after /oauth/authorize (http/pages.py)."""
    found = await oidc_clients.continuation(db, target)
    if found is None:
        return {"continuing": None, "form_targets": []}
    client, redirect_uri = found
    return {"continuing": client.name, "form_targets": [origin(redirect_uri)]}


@router.get("/login")
async def login_form(request: Request, db: Db, next: Next = "/console", prompt: Prompt = ""):
    who = await viewer(db, request)
    target = safe_next(next)
    if who.signed_in and prompt != "login":  # prompt=login: an application asked to sign in again
        return redirect(target)
    return page(request, "login.html", csrf=form_token(request, who), next=target, email="", error=None,
                viewer=who, **await _continuing(db, target))


@router.post("/login")
async def login(request: Request, db: Db, email: Annotated[str, Form(max_length=320)],
                password: Annotated[str, Form(max_length=256)], csrf: Annotated[str, Form(max_length=128)] = "",
                next: Annotated[str, Form(max_length=4000)] = "/console"):
    rt = runtime(request)
    who = await posted_by(db, request, csrf)
    target = safe_next(next)
    try:
        await rt.limits.sign_in(client_ip(request), normalize_email(email))
        signed_in = await accounts.login(db, rt, email=email, password=password, ip=client_ip(request),
                                         user_agent=request.headers.get("user-agent"))
    except (errors.InvalidCredentials, errors.RateLimited) as exc:
        async with after_refusal(request, db) as again:  # a second transaction: the form, shown again
            who = await viewer(again, request)
            return page(request, "login.html", status=401 if exc.code == "invalid_credentials" else 429,
                        csrf=form_token(request, who), next=target, email=email, error=exc.detail,
                        viewer=who, **await _continuing(again, target))
    if who.session is not None:  # signed in again (prompt=login): the new session replaces the old one
        await accounts.end_session(db, who.session)
    response = redirect(target)
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
