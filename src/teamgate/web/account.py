"""`/account`: a signed-in person's names, password, sessions and address verification.

Each form posts to a small action that uses the same services as the API, then shows the page
again with what happened."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request

from teamgate import errors
from teamgate.api.deps import client_ip, runtime
from teamgate.api.errors import STATUS
from teamgate.api.routes.common import clear_session_cookie
from teamgate.services import recovery, self_service
from teamgate.services.context import Actor
from teamgate.storage.db import unit_of_work
from teamgate.web.auth import login_link
from teamgate.web.common import form_token, page, posted_by, redirect, viewer

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]
DONE = {"password-reset": "Your new password is set, and every other session of your account was signed out."}


def _actor(who, request: Request) -> Actor:
    return Actor(kind="user", id=who.user.id, name=who.user.name, user=who.user,
                 ip=client_ip(request), user_agent=request.headers.get("user-agent"))


async def _account(request: Request, db, who, *, notice: str | None = None, error: str | None = None,
                   status: int = 200):
    rt = runtime(request)
    return page(request, "account.html", status=status, viewer=who, csrf=form_token(request, who), user=who.user,
                sessions=await self_service.sessions(db, rt, _actor(who, request)), current=who.session.id,
                idle_hours=rt.settings.session_idle_hours,
                notice=notice, error=error)


@router.get("/account")
async def account(request: Request, done: Annotated[str | None, Query(max_length=40)] = None):
    async with unit_of_work(runtime(request).sessions) as db:
        who = await viewer(db, request)
        if not who.signed_in:
            return redirect(login_link("/account"))
        return await _account(request, db, who, notice=DONE.get(done or ""))


async def _act(request: Request, csrf: str, action, done: str):
    """Run one action in its own transaction, then show the page with its outcome."""
    rt = runtime(request)
    if not (await posted_by(request, csrf)).signed_in:
        return redirect(login_link("/account"))
    error, status = None, 200
    try:
        async with unit_of_work(rt.sessions) as db:
            who = await viewer(db, request)
            await action(db, rt, who)
    except errors.TeamgateError as exc:
        error, status = exc.detail, STATUS.get(exc.code, 400)
    if rt.dispatcher is not None:
        rt.dispatcher.wake()  # a verification email may be waiting
    async with unit_of_work(rt.sessions) as db:
        who = await viewer(db, request)
        if not who.signed_in:  # this session was the one signed out
            response = redirect("/login")
            clear_session_cookie(response, rt)
            return response
        return await _account(request, db, who, notice=None if error else done, error=error, status=status)


@router.post("/account/names")
async def rename(request: Request, csrf: Csrf, first_name: Annotated[str, Form(max_length=200)],
                 last_name: Annotated[str, Form(max_length=200)]):
    async def action(db, rt, who):
        await self_service.rename(db, rt, _actor(who, request), first_name=first_name, last_name=last_name)

    return await _act(request, csrf, action, "Your name is saved.")


@router.post("/account/password")
async def change_password(request: Request, csrf: Csrf, current_password: Annotated[str, Form(max_length=256)],
                          new_password: Annotated[str, Form(max_length=256)]):
    async def action(db, rt, who):
        await rt.limits.sign_in(client_ip(request), who.user.email_normalized)
        try:
            await self_service.change_password(db, rt, _actor(who, request), who.session,
                                               current_password=current_password, new_password=new_password)
        except errors.ValidationFailed as exc:
            field = "current password" if exc.errors[0]["field"] == "currentPassword" else "new password"
            raise errors.ValidationFailed(exc.errors[0]["field"], f"The {field} {exc.detail}.") from None

    return await _act(request, csrf, action, "Your password is changed; your other sessions were signed out.")


@router.post("/account/sessions/end")
async def end_session(request: Request, csrf: Csrf, session_id: Annotated[str, Form(max_length=40)]):
    async def action(db, rt, who):
        await self_service.end_session(db, rt, _actor(who, request), session_id)

    return await _act(request, csrf, action, "That session is signed out.")


@router.post("/account/sign-out-everywhere")
async def sign_out_everywhere(request: Request, csrf: Csrf):
    async def action(db, rt, who):
        await self_service.end_all_sessions(db, rt, _actor(who, request))

    return await _act(request, csrf, action, "")


@router.post("/account/verify-email")
async def send_verification(request: Request, csrf: Csrf):
    async def action(db, rt, who):
        if who.user.email_verified:
            raise errors.EmailAlreadyVerified("Your email address is verified already.")
        await rt.limits.account_email(client_ip(request), who.user.email_normalized)
        await recovery.send_verification(db, rt, who.user)

    return await _act(request, csrf, action, "We sent a verification link to your address. It works once.")
