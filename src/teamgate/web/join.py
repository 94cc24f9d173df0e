"""`/join?token=...`: what a join link offers, and the one action that fits who is looking: create
an account, join (or ask to join) as the signed-in person, or see that they are in or waiting.

Viewing changes nothing (chat previews and mail scanners open links); joining is a POST with CSRF."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request, Response

from teamgate import errors
from teamgate.domain import joining as rules
from teamgate.domain.joining import Outcome
from teamgate.http.cookies import set_session_cookie
from teamgate.http.deps import Db, after_refusal, client_ip, runtime, token_use_limit
from teamgate.http.errors import status_for
from teamgate.http.forms import form_token, posted_by, viewer
from teamgate.services import joining
from teamgate.web.common import page, redirect

router = APIRouter(include_in_schema=False, dependencies=[Depends(token_use_limit)])
Text = Annotated[str, Form(max_length=320)]

CLOSED = {
    errors.JoinLinkNotFound.code: ("This link does not work", "It may be mistyped or cut short. Ask the team for "
                                                              "the link again.", 404),
    errors.JoinLinkExpired.code: ("This join link no longer works", "It has expired, was used as many times as it "
                                                                     "allows, or was withdrawn. Ask the team for a "
                                                                     "new one.", 410),
}


def closed_page(request: Request, exc: errors.TeamgateError, who):
    title, advice, status = CLOSED[exc.code]
    return page(request, "join_closed.html", status=status, title=title, advice=advice, detail=exc.detail,
                code=exc.code, viewer=who)


async def _render(request: Request, db, token: str, who, *, error: str | None = None, status: int = 200, **form):
    try:
        found = await joining.describe(db, runtime(request), token, signed_in=who.user)
    except errors.TeamgateError as exc:
        if exc.code in CLOSED:
            return closed_page(request, exc, who)
        raise
    link = found.link
    if not who.signed_in:
        mode = "create"
    elif found.member:
        mode = "member"
    elif found.waiting is not None:
        mode = "waiting"
    elif not rules.domain_allowed(who.user.email_normalized, link.allowed_domains):
        mode = "switch"
    else:
        mode = "join"
    here = f"/join?token={quote(token)}"
    return page(request, "join.html", status=status, found=found, link=link, mode=mode, viewer=who, token=token,
                error=error, csrf=form_token(request, who), login_url=f"/login?next={quote(here, safe='')}",
                must_verify=bool(link.allowed_domains) and not (who.signed_in and who.user.email_verified),
                form=form)


@router.get("/join")
async def show(request: Request, db: Db, token: Annotated[str, Query(max_length=128)] = ""):
    return await _render(request, db, token, await viewer(db, request))


@router.post("/join")
async def use(request: Request, db: Db, token: Annotated[str, Form(max_length=128)],
              csrf: Annotated[str, Form(max_length=128)] = "", email: Text = "",
              first_name: Annotated[str, Form(max_length=100)] = "",
              last_name: Annotated[str, Form(max_length=100)] = "",
              password: Annotated[str, Form(max_length=256)] = ""):
    rt = runtime(request)
    who = await posted_by(db, request, csrf)
    try:
        entered = await joining.use_and_enter(
            db, rt, token=token, session=who.session, signed_in=who.user, email=email or None,
            password=password or None, first_name=first_name or None, last_name=last_name or None,
            ip=client_ip(request), user_agent=request.headers.get("user-agent"))
    except errors.TeamgateError as exc:
        # a second transaction: the refused use is rolled back, and the page shown again with what went wrong
        async with after_refusal(request, db) as again:
            who = await viewer(again, request)
            if exc.code in CLOSED:
                return closed_page(request, exc, who)
            return await _render(request, again, token, who, error=exc.detail, status=status_for(exc.code),
                                 email=email, first_name=first_name, last_name=last_name)
    used = entered.used
    response: Response = (
        redirect(f"/console?joined={quote(used.team.id)}") if used.outcome is Outcome.JOINED
        else page(request, "join_waiting.html", status=202, team=used.team, outcome=used.outcome.value,
                  email=used.user.email, viewer=None if entered.started else who))
    if entered.started is not None:
        set_session_cookie(response, rt, entered.started.token)
    return response
