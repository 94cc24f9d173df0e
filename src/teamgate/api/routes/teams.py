"""Teams, the current team, its members, and ownership transfer."""

from __future__ import annotations

from fastapi import APIRouter

from teamgate.api import present
from teamgate.api import schemas as s
from teamgate.http.deps import Db, Rt, SessionAuth, Team
from teamgate.http.idempotency import Idempotent, IdempotentRoute
from teamgate.services import teams

router = APIRouter(tags=["teams"], route_class=IdempotentRoute)


@router.post("/teams", response_model=s.TeamOut, status_code=201)
async def create_team(body: s.TeamCreate, auth: SessionAuth, db: Db, rt: Rt, _key: Idempotent):
    team, _ = await teams.create(db, rt, auth.actor, name=body.name, seat_limit=body.seat_limit, owner=auth.user)
    if auth.session.active_team_id is None:
        auth.session.active_team_id = team.id
    return present.team(team)


@router.get("/teams", response_model=s.Page[s.MembershipOut])
async def my_teams(auth: SessionAuth, db: Db):
    mine = await teams.mine(db, auth.user)
    return {"data": [s.MembershipOut(team=present.team(t), role=m.role, is_owner=m.is_owner) for t, m in mine],
            "nextCursor": None}


@router.get("/team", response_model=s.TeamOut)
async def current_team(ctx: Team, db: Db):
    return present.team(await teams.current(db, ctx))


@router.get("/team-members", response_model=s.Page[s.MemberOut])
async def list_members(ctx: Team, db: Db):
    return {"data": [present.member(m, u) for m, u in await teams.members(db, ctx)], "nextCursor": None}


@router.patch("/team-members/{user_id}", response_model=s.MemberOut)
async def change_role(user_id: str, body: s.MemberUpdate, ctx: Team, db: Db, rt: Rt):
    return present.member(*await teams.change_role(db, rt, ctx, user_id, body.role))


@router.delete("/team-members/{user_id}", status_code=204)
async def remove_member(user_id: str, ctx: Team, db: Db, rt: Rt):
    await teams.remove(db, rt, ctx, user_id)


@router.post("/team/transfer-ownership", response_model=s.MemberOut)
async def transfer_ownership(body: s.TransferIn, ctx: Team, db: Db, rt: Rt):
    return present.member(*await teams.transfer_ownership(db, rt, ctx, body.user_id))
