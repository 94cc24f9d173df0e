"""API keys for servers: shown once at creation, stored hashed, bound to one team and one role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain.ids import is_id, new_id
from teamgate.domain.tokens import API_KEY_PREFIX, hash_token, new_api_key
from teamgate.runtime import Runtime
from teamgate.services import audit
from teamgate.services.context import TeamContext
from teamgate.storage.models import ApiKey
from teamgate.storage.repositories import api_keys as repo

MANAGE = "api_keys:manage"
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    secret: str


async def create(db: AsyncSession, rt: Runtime, ctx: TeamContext, *, name: str, role: str) -> IssuedKey:
    """Raises Forbidden, ValidationFailed (unknown role), RoleNotAllowed (owner, or above the caller)."""
    ctx.require(MANAGE)
    granted = rt.catalog.get(role)
    if granted is None:
        raise errors.ValidationFailed("role", f"unknown role {role!r}")
    if granted.owner or granted.rank > ctx.role.rank:
        raise errors.RoleNotAllowed("A key may hold only a non-owner role at or below your own.")
    secret = new_api_key()
    key = ApiKey(id=new_id("key"), team_id=ctx.team_id, name=name.strip(), role=granted.name,
                 prefix=secret[: len(API_KEY_PREFIX) + 4], secret_hash=hash_token(secret),
                 created_by_user_id=ctx.actor.user.id if ctx.actor.user else None, created_at=rt.clock.now())
    db.add(key)
    audit.record(db, rt, ctx.actor, "api_key.created", team_id=ctx.team_id, target_type="api_key", target_id=key.id,
                 name=key.name, role=key.role)
    await db.flush()
    return IssuedKey(key, secret)


async def page(db: AsyncSession, ctx: TeamContext, *, limit: int, after_id: str | None) -> list[ApiKey]:
    ctx.require(MANAGE)
    return await repo.page(db, ctx.team_id, limit=limit, after_id=after_id)


async def revoke(db: AsyncSession, rt: Runtime, ctx: TeamContext, key_id: str) -> ApiKey:
    ctx.require(MANAGE)
    key = await repo.in_team(db, ctx.team_id, key_id) if is_id(key_id) else None
    if key is None:
        raise errors.NotFound("No such API key in this team.")
    role = rt.catalog.get(key.role)
    if role is not None and role.rank > ctx.role.rank:
        raise errors.RoleNotAllowed("This key holds a role above your own.")
    if key.revoked_at is None:
        key.revoked_at = rt.clock.now()
        audit.record(db, rt, ctx.actor, "api_key.revoked", team_id=ctx.team_id, target_type="api_key",
                     target_id=key.id, name=key.name)
        await db.flush()
    return key


async def authenticate(db: AsyncSession, rt: Runtime, secret: str) -> ApiKey | None:
    if not secret.startswith(API_KEY_PREFIX) or len(secret) > 128:
        return None
    key = await repo.active_by_hash(db, hash_token(secret))
    now = rt.clock.now()
    if key is not None and (key.last_used_at is None or now - key.last_used_at > LAST_USED_PRECISION):
        key.last_used_at = now
    return key
