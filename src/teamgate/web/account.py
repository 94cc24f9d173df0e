"""`/account`: a signed-in person's names, password, sessions and address verification.

Each form posts to a small action that uses the same services as the API, then shows the page
again with what happened."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request

from teamgate import errors
from teamgate.http.cookies import clear_session_cookie
from teamgate.http.deps import Db, after_refusal, client_ip, runtime
from teamgate.http.errors import status_for
from teamgate.http.forms import form_token, posted_by, viewer
from teamgate.services import recovery, self_service
from teamgate.web.auth import login_link
from teamgate.web.common import page, redirect

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]
DONE = {"password-reset": "Your new password is set, and every other session of your account was signed out."}


async def _account(request: Request, db, who, *, notice: str | None = None, error: str | None = None,
                   status: int = 200):
    rt = runtime(request)
    return page(request, "account.html", status=status, viewer=who, csrf=form_token(request, who), user=who.user,
                sessions=await self_service.sessions(db, rt, who.actor(request)), current=who.session.id,
                idle_hours=rt.settings.session_idle_hours,
                notice=notice, error=error)


@router.get("/account")
async def account(request: Request, db: Db, done: Annotated[str | None, Query(max_length=40)] = None):
    who = await viewer(db, request)
    if not who.signed_in:
        return redirect(login_link("/account"))
    return await _account(request, db, who, notice=DONE.get(done or ""))


async def _act(request: Request, db: Db, csrf: str, action, done: str):
    """Run one action in the request's transaction, then show the page with its outcome."""
    rt = runtime(request)
    who = await posted_by(db, request, csrf)
    if not who.signed_in:
        return redirect(login_link("/account"))
    try:
        await action(db, rt, who)
        await db.flush()  # the page below reads what the action wrote (the session does not autoflush)
    except errors.TeamgateError as exc:
        # a second transaction: the refused action is rolled back, and the page shown again with why
        async with after_refusal(request, db) as again:
            return await _account(request, again, await viewer(again, request), error=exc.detail,
                                  status=status_for(exc.code))
    who = await viewer(db, request)
    if not who.signed_in:  # this session was the one signed out
        response = redirect("/login")
        clear_session_cookie(response, rt)
        return response
    return await _account(request, db, who, notice=done)


@router.post("/account/names")
async def rename(request: Request, db: Db, csrf: Csrf, first_name: Annotated[str, Form(max_length=200)],
                 last_name: Annotated[str, Form(max_length=200)]):
    async def action(db, rt, who):
        await self_service.rename(db, rt, who.actor(request), first_name=first_name, last_name=last_name)

    return await _act(request, db, csrf, action, "Your name is saved.")


@router.post("/account/password")
async def change_password(request: Request, db: Db, csrf: Csrf,
                          current_password: Annotated[str, Form(max_length=256)],
                          new_password: Annotated[str, Form(max_length=256)]):
    async def action(db, rt, who):
        await rt.limits.sign_in(client_ip(request), who.user.email_normalized)
        try:
            await self_service.change_password(db, rt, who.actor(request), who.session,
                                               current_password=current_password, new_password=new_password)
        except errors.ValidationFailed as exc:
            which = exc.errors[0]["field"] if exc.errors else "newPassword"
            field = "current password" if which == "currentPassword" else "new password"
            raise errors.ValidationFailed(which, f"The {field} {exc.detail}.") from None

    return await _act(request, db, csrf, action, "Your password is changed; your other sessions were signed out.")


@router.post("/account/sessions/end")
async def end_session(request: Request, db: Db, csrf: Csrf, session_id: Annotated[str, Form(max_length=40)]):
    async def action(db, rt, who):
        await self_service.end_session(db, rt, who.actor(request), session_id)

    return await _act(request, db, csrf, action, "That session is signed out.")


@router.post("/account/sign-out-everywhere")
async def sign_out_everywhere(request: Request, db: Db, csrf: Csrf):
    async def action(db, rt, who):
        await self_service.end_all_sessions(db, rt, who.actor(request))

    return await _act(request, db, csrf, action, "")


@router.post("/account/verify-email")
async def send_verification(request: Request, db: Db, csrf: Csrf):
    async def action(db, rt, who):
        if who.user.email_verified:
            raise errors.EmailAlreadyVerified("Your email address is verified already.")
        await rt.limits.account_email(client_ip(request), who.user.email_normalized)
        await recovery.send_verification(db, rt, who.user)

    return await _act(request, db, csrf, action, "We sent a verification link to your address. It works once.")
