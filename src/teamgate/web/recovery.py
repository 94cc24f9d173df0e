"""`/forgot-password`, `/reset-password` and `/verify-email`: the pages of DESIGN 10's links.

GET never changes state (mail scanners prefetch links): it only shows the form; the POST uses
the link. The forgot-password answer is the same whether or not an account has the address."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Query, Request

from teamgate import errors
from teamgate.http.cookies import set_session_cookie
from teamgate.http.deps import Db, after_refusal, client_ip, runtime, token_use_limit
from teamgate.http.forms import form_token, posted_by, viewer
from teamgate.http.password_reset import ask_for_reset
from teamgate.services import recovery
from teamgate.web.common import page, redirect

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]
LinkToken = Annotated[str, Query(max_length=128)]
FormToken = Annotated[str, Form(max_length=128)]


async def _look(request: Request, db, token: str, check) -> tuple:
    """Who is looking, and the account the link is for (None when the link is unusable)."""
    who = await viewer(db, request)
    try:
        return who, await check(db, runtime(request), token)
    except errors.TokenInvalid:
        return who, None


def _link_invalid(request: Request, who, what: str):
    return page(request, "link_invalid.html", status=400, viewer=who, what=what)


@router.get("/forgot-password")
async def forgot_form(request: Request, db: Db):
    who = await viewer(db, request)
    return page(request, "forgot_password.html", csrf=form_token(request, who), email="", error=None, viewer=who)


@router.post("/forgot-password")
async def forgot(request: Request, db: Db, email: Annotated[str, Form(max_length=320)], csrf: Csrf = ""):
    rt = runtime(request)
    who = await posted_by(db, request, csrf)
    background = BackgroundTasks()
    try:
        await ask_for_reset(request, rt, email, background)
    except errors.RateLimited as exc:
        return page(request, "forgot_password.html", status=429, csrf=form_token(request, who), email=email,
                    error=exc.detail, viewer=who)
    response = page(request, "forgot_password_sent.html", email=email, viewer=who,
                    minutes=round(rt.settings.password_reset_ttl_minutes))
    response.background = background  # the address is looked up after this page has gone
    return response


@router.get("/reset-password", dependencies=[Depends(token_use_limit)])
async def reset_form(request: Request, db: Db, token: LinkToken = ""):
    who, user = await _look(request, db, token, recovery.check_reset_link)
    if user is None:
        return _link_invalid(request, who, "password-reset")
    return page(request, "reset_password.html", csrf=form_token(request, who), token=token, email=user.email,
                error=None, viewer=who)


@router.post("/reset-password", dependencies=[Depends(token_use_limit)])
async def reset(request: Request, db: Db, token: FormToken, password: Annotated[str, Form(max_length=256)],
                csrf: Csrf = ""):
    rt = runtime(request)
    await posted_by(db, request, csrf)
    try:
        signed_in = await recovery.confirm_password_reset(db, rt, token=token, password=password,
                                                          ip=client_ip(request),
                                                          user_agent=request.headers.get("user-agent"))
    except (errors.TokenInvalid, errors.ValidationFailed) as exc:
        # a second transaction: the refused reset is rolled back, and the page drawn afresh
        async with after_refusal(request, db) as again:
            who, user = await _look(request, again, token, recovery.check_reset_link)
            if isinstance(exc, errors.TokenInvalid):
                return _link_invalid(request, who, "password-reset")
            return page(request, "reset_password.html", status=422, csrf=form_token(request, who), token=token,
                        email=user.email if user else "", error=f"The password {exc.detail}.", viewer=who)
    response = redirect("/account?done=password-reset")
    set_session_cookie(response, rt, signed_in.token)
    return response


@router.get("/verify-email", dependencies=[Depends(token_use_limit)])
async def verify_form(request: Request, db: Db, token: LinkToken = ""):
    who, user = await _look(request, db, token, recovery.check_verification_link)
    if user is None:
        return _link_invalid(request, who, "verification")
    here = f"/verify-email?token={quote(token)}"
    return page(request, "verify_email.html", csrf=form_token(request, who), token=token, email=user.email,
                viewer=who, owner_signed_in=who.signed_in and who.user.id == user.id,
                login_url=f"/login?next={quote(here, safe='')}")


@router.post("/verify-email", dependencies=[Depends(token_use_limit)])
async def verify(request: Request, db: Db, token: FormToken, csrf: Csrf = ""):
    rt = runtime(request)
    who = await posted_by(db, request, csrf)
    try:
        user = await recovery.confirm_verification(db, rt, token=token, signed_in=who.user, ip=client_ip(request),
                                                   user_agent=request.headers.get("user-agent"))
    except errors.TokenInvalid:
        async with after_refusal(request, db) as again:  # a second transaction, to draw the page
            return _link_invalid(request, await viewer(again, request), "verification")
    except errors.Unauthenticated:  # not signed in as the link's account: the page says what to do
        return redirect(f"/verify-email?token={quote(token)}")
    return page(request, "message.html", title="Address verified",
                message=f"{user.email} is now verified. Thank you.", viewer=who)
