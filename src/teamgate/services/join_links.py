"""Join links as the team's admins see them (DESIGN 14): create (the token is shown once and
stored only as its hash), list, delete. Who may make one follows the invitation rules: the
`invitations:manage` permission, a role at or below the maker's own, never the owner role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain import invitation as invitation_rules
from teamgate.domain import joining, roles
from teamgate.domain.ids import is_id, new_id
from teamgate.domain.joining import LinkStatus
from teamgate.domain.tokens import hash_token, new_token
from teamgate.runtime import Runtime
from teamgate.services import audit
from teamgate.services.context import TeamContext
from teamgate.services.invitations import grantable_role
from teamgate.storage.models import JoinLink
from teamgate.storage.repositories import accounts as accounts_repo
from teamgate.storage.repositories import join_links as repo
from teamgate.storage.repositories import teams as teams_repo

MANAGE = roles.INVITATIONS_MANAGE


@dataclass(frozen=True)
class IssuedLink:
    """A new link with its token, which exists only in this response."""

    link: JoinLink
    token: str


def url(rt: Runtime, token: str) -> str:
    return f"{rt.settings.base_url}/join?token={token}"


def status(link: JoinLink, now: datetime) -> LinkStatus:
    return joining.link_status(deleted_at=link.deleted_at, expires_at=link.expires_at, uses=link.uses,
                               max_uses=link.max_uses, now=now)


async def _maker(db: AsyncSession, ctx: TeamContext) -> dict[str, Any]:
    """Who grants through the link (the person or the key) and the name people see on the join
    page: the person, or for an API key the person who made it, else the team."""
    key, name = ctx.actor.api_key, ctx.actor.name
    if key is not None:
        creator = await accounts_repo.user_by_id(db, key.created_by_user_id) if key.created_by_user_id else None
        team = await teams_repo.team_by_id(db, ctx.team_id)
        name = creator.name if creator is not None else (team.name if team else name)
    return {"created_by_user_id": ctx.actor.user.id if ctx.actor.user else None,
            "created_by_api_key_id": key.id if key else None, "creator_name": name}


async def create(db: AsyncSession, rt: Runtime, ctx: TeamContext, *, role: str, max_uses: int | None = None,
                 expires_in_days: float | None = None, allowed_domains: list[str] | None = None,
                 requires_approval: bool = False) -> IssuedLink:
    """Raises Forbidden, ValidationFailed (unknown role, bad domain, uses or days), RoleNotAllowed."""
    ctx.require(MANAGE)
    granted = grantable_role(rt, ctx, role)
    if expires_in_days is not None and not invitation_rules.MIN_DAYS <= expires_in_days <= invitation_rules.MAX_DAYS:
        raise errors.ValidationFailed("expiresInDays", f"must be {invitation_rules.MIN_DAYS} to "
                                                       f"{invitation_rules.MAX_DAYS}")
    days = rt.settings.invitation_ttl_days if expires_in_days is None else expires_in_days
    now, token = rt.clock.now(), new_token()
    link = repo.add(db, JoinLink(
        id=new_id("jln"), team_id=ctx.team_id, role=granted.name, token_hash=hash_token(token),
        max_uses=joining.check_max_uses(max_uses), uses=0, expires_at=invitation_rules.expiry(now, days),
        allowed_domains=joining.check_domains(allowed_domains or []), requires_approval=requires_approval,
        **await _maker(db, ctx), created_at=now, deleted_at=None))
    audit.record(db, rt, ctx.actor, "join_link.created", team_id=ctx.team_id, target_type="join_link",
                 target_id=link.id, role=link.role, maxUses=link.max_uses, expiresAt=link.expires_at.isoformat(),
                 allowedDomains=link.allowed_domains, requiresApproval=requires_approval)
    await db.flush()
    return IssuedLink(link, token)


async def page(db: AsyncSession, ctx: TeamContext, *, limit: int, after_id: str | None) -> list[JoinLink]:
    """The team's links that were not deleted (live, expired and used-up ones), newest first."""
    ctx.require(MANAGE)
    return await repo.page(db, ctx.team_id, limit=limit, after_id=after_id)


async def get(db: AsyncSession, ctx: TeamContext, link_id: str) -> JoinLink:
    ctx.require(MANAGE)
    link = await repo.in_team(db, ctx.team_id, link_id) if is_id(link_id) else None
    if link is None or link.deleted_at is not None:
        raise errors.NotFound("No such join link in this team.")
    return link


async def delete(db: AsyncSession, rt: Runtime, ctx: TeamContext, link_id: str) -> JoinLink:
    """The link stops working at once (its token answers 410 `join_link_expired`). Requests it
    made stay: those in the queue for a person to decide, and those still waiting for an address
    to be verified go to the queue then instead of joining by themselves. Raises NotFound,
    Forbidden, RoleNotAllowed (a link for a role above the caller's own)."""
    link = await get(db, ctx, link_id)
    if not roles.may_manage(ctx.role, rt.catalog.get(link.role)):
        raise errors.RoleNotAllowed("This link grants a role above your own.")
    if not await repo.mark_deleted(db, link.id, rt.clock.now()):
        raise errors.NotFound("No such join link in this team.")  # a concurrent delete got there first
    audit.record(db, rt, ctx.actor, "join_link.deleted", team_id=ctx.team_id, target_type="join_link",
                 target_id=link.id, uses=link.uses)
    return await repo.refresh(db, link)
