"""Sign-in, sign-out, the caller's profile and active team, and first-owner setup."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from teamgate.api import present
from teamgate.api import schemas as s
from teamgate.domain.emails import normalize_email
from teamgate.http.cookies import clear_session_cookie, set_session_cookie
from teamgate.http.deps import Db, Rt, SessionAuth, client_ip
from teamgate.services import accounts, teams

router = APIRouter(tags=["auth"])


@router.post("/auth/login", response_model=s.SignedInOut)
async def login(body: s.LoginIn, request: Request, response: Response, db: Db, rt: Rt):
    await rt.limits.sign_in(client_ip(request), normalize_email(body.email))
    signed_in = await accounts.login(db, rt, email=body.email, password=body.password, ip=client_ip(request),
                                     user_agent=request.headers.get("user-agent"))
    set_session_cookie(response, rt, signed_in.token)
    return s.SignedInOut(user=present.user(signed_in.user), csrf_token=accounts.csrf_token(rt, signed_in.token))


@router.post("/auth/logout", status_code=204)
async def logout(auth: SessionAuth, response: Response, db: Db, rt: Rt):
    await accounts.end_session(db, auth.session)
    clear_session_cookie(response, rt)
    response.status_code = 204
    return


@router.get("/me", response_model=s.MeOut)
async def me(auth: SessionAuth, db: Db, rt: Rt):
    mine = await teams.mine(db, auth.user)
    return s.MeOut(user=present.user(auth.user),
                   memberships=[s.MembershipOut(team=present.team(t), role=m.role, is_owner=m.is_owner)
                                for t, m in mine],
                   active_team_id=auth.session.active_team_id, csrf_token=accounts.csrf_token(rt, auth.session_token))


@router.put("/me/active-team", response_model=s.MeOut)
async def choose_active_team(body: s.ActiveTeamIn, auth: SessionAuth, db: Db, rt: Rt):
    await teams.context_for(db, rt, auth.actor, body.team_id)  # NotFound unless the caller may act there
    auth.session.active_team_id = body.team_id
    return await me(auth, db, rt)


@router.post("/setup", response_model=s.SignedInOut, status_code=201)
async def setup(body: s.SetupIn, request: Request, response: Response, db: Db, rt: Rt):
    """Create the first system owner with the one-time link printed by `teamgate serve` or `bootstrap`."""
    await rt.limits.setup(client_ip(request))
    signed_in = await accounts.complete_setup(db, rt, token=body.token, email=body.email, first_name=body.first_name,
                                              last_name=body.last_name, password=body.password,
                                              ip=client_ip(request), user_agent=request.headers.get("user-agent"))
    set_session_cookie(response, rt, signed_in.token)
    return s.SignedInOut(user=present.user(signed_in.user), csrf_token=accounts.csrf_token(rt, signed_in.token))


