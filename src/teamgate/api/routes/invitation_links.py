"""The invitee's side, by token: validate (public, changes nothing), accept, decline, and asking
for a new link once the invitation has expired."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from teamgate import errors
from teamgate.api import present
from teamgate.api import schemas as s
from teamgate.api.encode import Json
from teamgate.domain.invitation import PENDING
from teamgate.http.cookies import set_session_cookie
from teamgate.http.deps import Auth, Authenticated, Db, Rt, client_ip, invitation_token_use_limit
from teamgate.services import accounts, invitation_links, renewals

router = APIRouter(prefix="/team-invitations", tags=["invitations"], dependencies=[Depends(invitation_token_use_limit)])


@router.get("/validate/{token}", response_model=s.InvitationPreview)
async def validate(token: Annotated[str, Path(max_length=128)], auth: Authenticated, db: Db, rt: Rt):
    found = await invitation_links.describe(db, rt, token, signed_in=auth.signed_in_user)
    return Json(present.preview_json(found.invitation, found.team, found.tasks, found.account_exists, PENDING))


@router.post("/accept", response_model=s.AcceptOut | s.AcceptedOnBehalfOut,
             # no credential (a new person), a session (an existing account), or a server key (`user`)
             openapi_extra={"security": [{}, {"session": []}, {"serverKey": []}]})
async def accept(body: s.AcceptIn, request: Request, auth: Authenticated, db: Db, rt: Rt):
    """A new person sends password and names; an existing account must be signed in (with CSRF).
    A server key sends `user` instead, the person it accepts for (DESIGN 12): no session is started."""
    if body.user is not None or (auth.actor is not None and auth.actor.server_key is not None):
        return await _accept_on_behalf(body, request, auth, db, rt)
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


async def _accept_on_behalf(body: s.AcceptIn, request: Request, auth: Auth, db: Db, rt: Rt) -> s.AcceptedOnBehalfOut:
    if auth.actor is None:
        raise errors.Unauthenticated("Accepting on a person's behalf (`user`) takes a server key.")
    if auth.actor.server_key is None:
        raise errors.Forbidden("Only a server key can accept on a person's behalf (`user`).")
    if body.user is None:
        raise errors.ValidationFailed("user", "is required with a server key: the person to accept for")
    if body.password is not None or body.first_name is not None or body.last_name is not None:
        raise errors.ValidationFailed("password", "is not taken on a person's behalf; names go in `user`")
    person = body.user
    done = await invitation_links.accept(
        db, rt, token=body.token, signed_in=None, ip=client_ip(request), user_agent=request.headers.get("user-agent"),
        vouched=invitation_links.Vouched(server_key=auth.actor.server_key, external_id=person.external_id,
                                         email=person.email, first_name=person.first_name,
                                         last_name=person.last_name))
    return s.AcceptedOnBehalfOut(user=present.user(done.user), team=present.team(done.team),
                                 role=done.membership.role,
                                 invitation=present.invitation(done.invitation, rt.clock.now()),
                                 account_created=done.account_created)


@router.post("/decline", response_model=s.DeclineOut)
async def decline(body: s.DeclineIn, request: Request, db: Db, rt: Rt):
    invitation = await invitation_links.decline(db, rt, token=body.token, ip=client_ip(request),
                                                user_agent=request.headers.get("user-agent"))
    return s.DeclineOut(id=invitation.id, status=invitation.status, declined_at=invitation.declined_at)


@router.post("/request-renewal", response_model=s.RenewalOut, status_code=202)
async def request_renewal(body: s.RenewalIn, request: Request, db: Db, rt: Rt):
    """With the link of an expired invitation: tells the inviter (email and the webhook event
    `invitation.renewal_requested`) that the person would like a new one. Changes nothing else;
    limited per invitation (429)."""
    done = await renewals.request(db, rt, token=body.token, ip=client_ip(request),
                                  user_agent=request.headers.get("user-agent"))
    return s.RenewalOut(detail=f"We asked {done.told} to send you a new invitation.", told=done.told)
