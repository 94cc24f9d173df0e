"""A signed-in person's own account: names, password, sessions, verification. Sessions only:
an API key is not a person (403), and cookie writes need X-CSRF-Token (api/deps.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from teamgate import errors
from teamgate.api import account_schemas as a
from teamgate.api import schemas as s
from teamgate.api.routes.auth import me
from teamgate.http.cookies import clear_session_cookie
from teamgate.http.deps import Db, Rt, SessionAuth, client_ip
from teamgate.http.idempotency import Idempotent, IdempotentRoute
from teamgate.services import recovery, self_service

router = APIRouter(tags=["account"], route_class=IdempotentRoute)
VERIFICATION_SENT = "We sent a verification link to your address."


@router.patch("/me", response_model=s.MeOut)
async def update_me(body: a.ProfileUpdate, auth: SessionAuth, db: Db, rt: Rt):
    await self_service.rename(db, rt, auth.actor, first_name=body.first_name, last_name=body.last_name)
    return await me(auth, db, rt)


@router.post("/me/password", status_code=204)
async def change_password(body: a.PasswordChangeIn, request: Request, auth: SessionAuth, db: Db, rt: Rt):
    """Needs the current password (counted like sign-in attempts); ends the other sessions."""
    await rt.limits.sign_in(client_ip(request), auth.user.email_normalized)
    await self_service.change_password(db, rt, auth.actor, auth.session, current_password=body.current_password,
                                       new_password=body.new_password)
    return Response(status_code=204)


@router.get("/me/sessions", response_model=a.SessionList)
async def my_sessions(auth: SessionAuth, db: Db, rt: Rt):
    found = await self_service.sessions(db, rt, auth.actor)
    return a.SessionList(data=[a.SessionOut(id=x.id, created_at=x.created_at, last_seen_at=x.last_seen_at,
                                            expires_at=x.expires_at, ip=x.ip, user_agent=x.user_agent,
                                            current=x.id == auth.session.id) for x in found])


@router.delete("/me/sessions/{session_id}", status_code=204)
async def end_my_session(session_id: str, auth: SessionAuth, db: Db, rt: Rt):
    """Sign one of your sessions out (this one too); another person's session is 404."""
    await self_service.end_session(db, rt, auth.actor, session_id)
    response = Response(status_code=204)
    if session_id == auth.session.id:
        clear_session_cookie(response, rt)
    return response


@router.post("/auth/logout-all", status_code=204)
async def logout_everywhere(auth: SessionAuth, db: Db, rt: Rt):
    """End every session of the account, this one included."""
    await self_service.end_all_sessions(db, rt, auth.actor)
    response = Response(status_code=204)
    clear_session_cookie(response, rt)
    return response


@router.post("/me/verify-email", status_code=202, response_model=a.EmailSentOut)
async def send_verification(request: Request, auth: SessionAuth, db: Db, rt: Rt, _key: Idempotent):
    """Email a link that proves the address; 409 `email_already_verified` when there is nothing to prove."""
    user = auth.user
    if user.email_verified:
        raise errors.EmailAlreadyVerified("Your email address is verified already.")
    await rt.limits.account_email(client_ip(request), user.email_normalized)
    await recovery.send_verification(db, rt, user)
    return a.EmailSentOut(detail=VERIFICATION_SENT)
