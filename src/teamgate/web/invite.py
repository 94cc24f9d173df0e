"""`/invite?token=...`: what the invitation is, and the one action that fits who is looking.

Viewing changes nothing (mail scanners open links); accept and decline are POSTs with CSRF."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request

from teamgate import errors
from teamgate.domain import invitation as rules
from teamgate.domain.oidc import origin
from teamgate.http.cookies import set_session_cookie
from teamgate.http.deps import Db, after_refusal, client_ip, runtime, token_use_limit
from teamgate.http.errors import status_for
from teamgate.http.forms import form_token, posted_by, viewer
from teamgate.services import invitation_links, renewals
from teamgate.web.common import page, redirect

router = APIRouter(include_in_schema=False, dependencies=[Depends(token_use_limit)])
Token = Annotated[str, Form(max_length=128)]

NOT_FOUND = ("This link does not work", ("It may be mistyped, or it was replaced by a newer invitation. Check the "
                                         "latest email, or ask the person who invited you to send it again."))
GONE = {  # what a link to a closed invitation says, and what to do next, for each state that closes one
    rules.EXPIRED: ("This invitation has expired", ("Invitations work for a limited time. Ask the person who invited "
                                                    "you to resend it; you will get a new link.")),
    rules.ACCEPTED: ("This invitation was already accepted", ("The link works once. If that was you, sign in to "
                                                              "reach the team.")),
    rules.REVOKED: ("This invitation was withdrawn", ("It was cancelled, or whoever sent it can no longer invite you. "
                                                      "Ask the team for a new invitation if you still want to join.")),
    rules.DECLINED: ("You declined this invitation", ("If you changed your mind, ask the person who invited you to "
                                                      "send a new one.")),
}
# by the code the domain refuses with: a link that never worked is 404, one that is closed is 410 (Gone)
CLOSED = {errors.InvitationNotFound.code: (*NOT_FOUND, 404),
          **{rules.closed_error(state).code: (*texts, 410) for state, texts in GONE.items()}}


def closed_page(request, exc: errors.TeamgateError, who, token: str = ""):
    """The page of a link that does not work; an expired one offers to ask the inviter for a new one."""
    title, advice, status = CLOSED[exc.code]
    renewable = exc.code == errors.InvitationExpired.code and bool(token)
    return page(request, "invite_closed.html", status=status, title=title, advice=advice, code=exc.code, viewer=who,
                token=token if renewable else None, csrf=form_token(request, who) if renewable and who else None)


async def _render(request: Request, db, token: str, who, *, error: str | None = None, status: int = 200, **form):
    try:
        found = await invitation_links.describe(db, runtime(request), token, signed_in=who.user)
    except errors.TeamgateError as exc:
        if exc.code in CLOSED:
            return closed_page(request, exc, who, token)
        raise
    invited = found.invitation.email_normalized
    if who.signed_in:
        mode = "accept" if who.user.email_normalized == invited else "switch"
    else:
        mode = "signin" if found.account_exists else "create"
    here = f"/invite?token={quote(token)}"
    # accepting continues in the product the invitation names (checked when it was made): the
    # accept form may lead there (http/pages.py)
    onward = [origin(found.invitation.redirect_url)] if found.invitation.redirect_url else []
    return page(request, "invite.html", status=status, found=found, mode=mode, viewer=who, token=token, error=error,
                csrf=form_token(request, who), login_url=f"/login?next={quote(here, safe='')}", form=form,
                form_targets=onward)


@router.get("/invite")
async def show(request: Request, db: Db, token: Annotated[str, Query(max_length=128)] = ""):
    who = await viewer(db, request)
    return await _render(request, db, token, who)


@router.post("/invite/accept")
async def accept(request: Request, db: Db, token: Token, csrf: Annotated[str, Form(max_length=128)] = "",
                 first_name: Annotated[str, Form(max_length=100)] = "",
                 last_name: Annotated[str, Form(max_length=100)] = "",
                 password: Annotated[str, Form(max_length=256)] = ""):
    rt = runtime(request)
    who = await posted_by(db, request, csrf)
    try:
        entered = await invitation_links.accept_and_enter(
            db, rt, token=token, session=who.session, signed_in=who.user, password=password or None,
            first_name=first_name or None, last_name=last_name or None, ip=client_ip(request),
            user_agent=request.headers.get("user-agent"))
    except errors.TeamgateError as exc:
        # a second transaction: the refused accept is rolled back, and the page shown again with what went wrong
        async with after_refusal(request, db) as again:
            who = await viewer(again, request)
            if exc.code in CLOSED:
                return closed_page(request, exc, who, token)
            return await _render(request, again, token, who, error=exc.detail, status=status_for(exc.code),
                                 first_name=first_name, last_name=last_name)
    invitation = entered.accepted.invitation
    response = redirect(invitation.redirect_url or f"/console?joined={quote(entered.accepted.team.id)}")
    if entered.started is not None:
        set_session_cookie(response, rt, entered.started.token)
    return response


@router.post("/invite/decline")
async def decline(request: Request, db: Db, token: Token, csrf: Annotated[str, Form(max_length=128)] = ""):
    rt = runtime(request)
    who = await posted_by(db, request, csrf)
    try:
        await invitation_links.decline(db, rt, token=token, ip=client_ip(request),
                                       user_agent=request.headers.get("user-agent"))
    except errors.TeamgateError as exc:
        if exc.code in CLOSED:
            async with after_refusal(request, db) as again:  # a second transaction, to draw the page
                return closed_page(request, exc, await viewer(again, request))
        raise
    return page(request, "message.html", title="Invitation declined", viewer=who,
                message="You declined the invitation. Nothing else happens; you can close this page.")


@router.post("/invite/renew")
async def renew(request: Request, db: Db, token: Token, csrf: Annotated[str, Form(max_length=128)] = ""):
    """The expired page's "ask for a new link": tells the inviter, changes nothing else."""
    rt = runtime(request)
    who = await posted_by(db, request, csrf)
    try:
        done = await renewals.request(db, rt, token=token, ip=client_ip(request),
                                      user_agent=request.headers.get("user-agent"))
    except errors.RateLimited as exc:
        response = page(request, "message.html", status=429, title="You asked already", viewer=who,
                        message="We passed on your request for a new link a short while ago. Give them time to "
                                "send it; the new invitation comes by email.")
        response.headers["Retry-After"] = str(exc.extra.get("retryAfter", 60))
        return response
    except errors.TeamgateError as exc:
        if exc.code in CLOSED:
            async with after_refusal(request, db) as again:  # a second transaction, to draw the page
                return closed_page(request, exc, await viewer(again, request))
        raise
    return page(request, "message.html", title="We asked for a new link", viewer=who,
                message=f"We told {done.told} that you would like a new invitation. It comes by email to "
                        f"{done.invitation.email} once they send it.")
