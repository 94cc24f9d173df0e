"""API keys: the secret is shown once, in the creation response."""

from __future__ import annotations

from fastapi import APIRouter

from teamgate.api import present
from teamgate.api import schemas as s
from teamgate.api.routes.common import Pages
from teamgate.http.deps import Db, Rt, Team
from teamgate.http.idempotency import Idempotent, IdempotentRoute
from teamgate.services import api_keys

router = APIRouter(tags=["api-keys"], route_class=IdempotentRoute)


@router.get("/api-keys", response_model=s.Page[s.ApiKeyOut])
async def list_keys(ctx: Team, db: Db, paging: Pages):
    found = await api_keys.page(db, ctx, limit=paging.limit + 1, after_id=paging.after_id)
    return present.page(found, paging.limit, present.api_key)


@router.post("/api-keys", response_model=s.ApiKeyCreated, status_code=201)
async def create_key(body: s.ApiKeyCreate, ctx: Team, db: Db, rt: Rt, _key: Idempotent):
    issued = await api_keys.create(db, rt, ctx, name=body.name, role=body.role)
    return s.ApiKeyCreated(**present.api_key(issued.api_key).model_dump(), key=issued.secret)


@router.delete("/api-keys/{key_id}", response_model=s.ApiKeyOut)
async def revoke_key(key_id: str, ctx: Team, db: Db, rt: Rt):
    return present.api_key(await api_keys.revoke(db, rt, ctx, key_id))
