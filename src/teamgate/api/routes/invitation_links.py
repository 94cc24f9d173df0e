"""The invitee's side, by token: validate (public, changes nothing), accept, decline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from teamgate import errors
from teamgate.api import present
from teamgate.api import schemas as s
from teamgate.api.encode import Json
from teamgate.domain.invitation import PENDING
from teamgate.http.cookies import set_session_cookie
from teamgate.http.deps import Authenticated, Db, Rt, client_ip, token_use_limit
from teamgate.services import accounts, invitation_links

router = APIRouter(prefix="/team-invitations", tags=["invitations"], dependencies=[Depends(token_use_limit)])


@router.get("/validate/{token}", response_model=s.InvitationPreview)
async def validate(token: Annotated[str, Path(max_length=128)], auth: Authenticated, db: Db, rt: Rt):
    found = await invitation_links.describe(db, rt, token, signed_in=auth.signed_in_user)
    return Json(present.preview_json(found.invitation, found.team, found.tasks, found.account_exists, PENDING))


@router.post("/accept", response_model=s.AcceptOut)
async def accept(body: s.AcceptIn, request: Request, auth: Authenticated, db: Db, rt: Rt):
    """A new person sends password and names; an existing account must be signed in (with CSRF)."""
    entered = await invitation_links.accept_and_enter(
        db, rt, token=body.token, session=auth.session, signed_in=auth.signed_in_user, password=body.password,
        first_name=body.first_name, last_name=body.last_name, ip=client_ip(request),
        user_agent=request.headers.get("user-agent"))
    done, token = entered.accepted, auth.session_token
    if entered.started is not None:  # the person was signed out: now signed in
        token = entered.started.token
    if token is None:  # unreachable: a session switched to the team is a session the caller presented
        raise errors.Unauthenticated("Sign in again.")
    invitation = present.invitation_json(done.invitation, rt.clock.now())
    response = Json({"user": present.user_json(done.user), "team": present.team_json(done.team),
                     "role": done.membership.role, "invitation": invitation,
                     "accountCreated": done.account_created, "csrfToken": accounts.csrf_token(rt, token)})
    if entered.started is not None:
        set_session_cookie(response, rt, token)
    return response


@router.post("/decline", response_model=s.DeclineOut)
async def decline(body: s.DeclineIn, request: Request, db: Db, rt: Rt):
    invitation = await invitation_links.decline(db, rt, token=body.token, ip=client_ip(request),
                                                user_agent=request.headers.get("user-agent"))
    return s.DeclineOut(id=invitation.id, status=invitation.status, declined_at=invitation.declined_at)
