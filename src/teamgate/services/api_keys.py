"""API keys for servers: shown once at creation, stored hashed, bound to one team and one role.

A key acts with at most its creator's current rights (DESIGN section 10): it dies when its
creator leaves the team, and when its creator drops below its role it is lowered to the
creator's new role, or revoked when that role cannot manage keys (the person could neither make
nor revoke such a key any more, so nothing of theirs should keep acting at that rank). Only
people (sessions) and operators (the CLI) make keys: a key cannot make a key, nor can a server key
acting for a person (DESIGN 12)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain import roles
from teamgate.domain.ids import is_id, new_id
from teamgate.domain.roles import KeyChange, Role
from teamgate.domain.tokens import API_KEY_PREFIX, hash_token, last_use_due, new_api_key
from teamgate.runtime import Runtime
from teamgate.services import audit
from teamgate.services.context import Actor, TeamContext
from teamgate.storage.models import ApiKey
from teamgate.storage.repositories import api_keys as repo

MANAGE = roles.API_KEYS_MANAGE


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    secret: str


async def create(db: AsyncSession, rt: Runtime, ctx: TeamContext, *, name: str, role: str) -> IssuedKey:
    """Raises Forbidden (no permission, or the caller is a key), ValidationFailed (unknown role),
    RoleNotAllowed (owner, or above the caller)."""
    if ctx.actor.api_key is not None:  # else a leaked key could mint keys that outlive its revocation
        raise errors.Forbidden("An API key cannot create API keys; a person (signed in) or an operator can.")
    if ctx.actor.server_key is not None:  # the same, for a server key acting for a person
        raise errors.Forbidden("A key cannot create API keys; a person (signed in) or an operator can.")
    ctx.require(MANAGE)
    granted = rt.catalog.get(role)
    if granted is None:
        raise errors.ValidationFailed("role", f"unknown role {role!r}")
    if not roles.may_grant(ctx.role, granted):
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
    if not roles.may_manage(ctx.role, rt.catalog.get(key.role)):
        raise errors.RoleNotAllowed("This key holds a role above your own.")
    if key.revoked_at is None:
        key.revoked_at = rt.clock.now()
        audit.record(db, rt, ctx.actor, "api_key.revoked", team_id=ctx.team_id, target_type="api_key",
                     target_id=key.id, name=key.name)
        await db.flush()
    return key


async def revoke_made_by(db: AsyncSession, rt: Runtime, actor: Actor, *, team_id: str, user_id: str,
                         reason: str) -> list[ApiKey]:
    """Revoke every key `user_id` made in the team: they are leaving it (`creator_left`), or
    their account was taken over by its mailbox's owner (`account_reclaimed`)."""
    keys = await repo.live_by_creator(db, team_id, user_id)
    for key in keys:
        _revoke(db, rt, actor, key, reason=reason, creator=user_id)
    return keys


async def creator_demoted(db: AsyncSession, rt: Runtime, actor: Actor, *, team_id: str, user_id: str,
                          role: Role) -> list[ApiKey]:
    """`user_id` now holds `role` in the team: each of their keys that would act above it is
    lowered to it, or revoked when `role` cannot manage keys. Keys at or below it are untouched."""
    changed = []
    for key in await repo.live_by_creator(db, team_id, user_id):
        change = roles.key_after_maker_change(rt.catalog.get(key.role), role)
        if change is KeyChange.KEEP:
            continue
        if change is KeyChange.LOWER:
            previous, key.role = key.role, role.name
            audit.record(db, rt, actor, "api_key.role_lowered", team_id=team_id, target_type="api_key",
                         target_id=key.id, name=key.name, previous=previous, role=role.name, reason="creator_demoted",
                         creator=user_id)
        else:
            _revoke(db, rt, actor, key, reason="creator_demoted", creator=user_id)
        changed.append(key)
    return changed


def _revoke(db: AsyncSession, rt: Runtime, actor: Actor, key: ApiKey, **why: str) -> None:
    key.revoked_at = rt.clock.now()
    audit.record(db, rt, actor, "api_key.revoked", team_id=key.team_id, target_type="api_key", target_id=key.id,
                 name=key.name, role=key.role, **why)


async def authenticate(db: AsyncSession, rt: Runtime, secret: str) -> ApiKey | None:
    if not secret.startswith(API_KEY_PREFIX) or len(secret) > 128:
        return None
    key = await repo.active_by_hash(db, hash_token(secret))
    now = rt.clock.now()
    if key is not None and last_use_due(key.last_used_at, now):
        key.last_used_at = now
    return key
