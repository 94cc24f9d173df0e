"""Teams and memberships: creating teams, the current-team context, roles, removal, ownership."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain import roles
from teamgate.domain.ids import is_id, new_id
from teamgate.runtime import Runtime
from teamgate.services import api_keys, audit, events
from teamgate.services.context import Actor, TeamContext, system_owner_role
from teamgate.storage.models import Membership, Team, User
from teamgate.storage.repositories import tasks as tasks_repo
from teamgate.storage.repositories import teams as repo
from teamgate.storage.scope import act_for


async def context_for(db: AsyncSession, rt: Runtime, actor: Actor, team_id: str) -> TeamContext:
    """The actor's role in a team. Raises NotFound when the actor does not belong to it
    (another team's existence is not revealed). Scopes the transaction to that team."""
    if not is_id(team_id):
        raise errors.NotFound("No such team.")
    await act_for(db, team_id=team_id)
    if actor.api_key is not None:
        if actor.api_key.team_id != team_id:
            raise errors.NotFound("No such team.")
        role = rt.catalog.get(actor.api_key.role)
        if role is None:
            raise errors.Forbidden("This API key's role no longer exists.")
        return TeamContext(actor=actor, team_id=team_id, role=role)
    if actor.user is None:
        raise errors.Unauthenticated()
    member = await repo.membership(db, team_id, actor.user.id)
    if member is not None and (role := rt.catalog.get(member.role)) is not None:
        return TeamContext(actor=actor, team_id=team_id, role=role, is_owner=member.is_owner)
    if actor.is_system_owner and await repo.team_by_id(db, team_id) is not None:
        return TeamContext(actor=actor, team_id=team_id, role=system_owner_role(rt.catalog), is_owner=True)
    raise errors.NotFound("No such team.")


async def create(db: AsyncSession, rt: Runtime, actor: Actor, *, name: str, seat_limit: int | None = None,
                 owner: User) -> tuple[Team, Membership]:
    """A new team whose creator (`owner`) holds the owner role (or the catalog's highest). Raises
    RateLimited when a person (not an operator) has made too many teams lately."""
    if actor.user is not None:
        await rt.limits.team_create(actor.user.id)
    now = rt.clock.now()
    team = Team(id=new_id("team"), name=name.strip(), seat_limit=seat_limit, created_at=now)
    membership = Membership(team_id=team.id, user_id=owner.id, role=rt.catalog.creator_role.name, is_owner=True,
                            created_at=now)
    await act_for(db, team_id=team.id)
    db.add(team)
    await db.flush()
    db.add(membership)
    audit.record(db, rt, actor, "team.created", team_id=team.id, target_type="team", target_id=team.id,
                 name=team.name, seatLimit=seat_limit, owner=owner.id)
    await db.flush()
    return team, membership


async def mine(db: AsyncSession, user: User) -> list[tuple[Team, Membership]]:
    return await repo.teams_of_user(db, user.id)


async def current(db: AsyncSession, ctx: TeamContext) -> Team:
    ctx.require("team:read")
    team = await repo.team_by_id(db, ctx.team_id)
    if team is None:
        raise errors.NotFound("No such team.")
    return team


async def members(db: AsyncSession, ctx: TeamContext) -> list[tuple[Membership, User]]:
    ctx.require("team:read")
    return await repo.members(db, ctx.team_id)


async def _target(db: AsyncSession, ctx: TeamContext, user_id: str) -> tuple[Membership, User]:
    found = await repo.member_with_user(db, ctx.team_id, user_id) if is_id(user_id) else None
    if found is None:
        raise errors.NotFound("No such member in this team.")
    return found


async def change_role(db: AsyncSession, rt: Runtime, ctx: TeamContext, user_id: str,
                      role_name: str) -> tuple[Membership, User]:
    """Raises Forbidden, NotFound, ValidationFailed (unknown role), RoleNotAllowed."""
    ctx.require(roles.MEMBERS_MANAGE)
    member, user = await _target(db, ctx, user_id)
    role = rt.catalog.get(role_name)
    if role is None:
        raise errors.ValidationFailed("role", f"unknown role {role_name!r}")
    roles.ensure_may_change_role(ctx.role, held=rt.catalog.get(member.role), new=role,
                                 holds_ownership=member.is_owner)
    previous, member.role = member.role, role.name
    audit.record(db, rt, ctx.actor, "member.role_changed", team_id=ctx.team_id, target_type="user",
                 target_id=user_id, previous=previous, role=role.name)
    await api_keys.creator_demoted(db, rt, ctx.actor, team_id=ctx.team_id, user_id=user_id, role=role)
    await events.member(db, rt, "membership.updated", member, user, ctx.actor)
    await db.flush()
    return member, user


async def remove(db: AsyncSession, rt: Runtime, ctx: TeamContext, user_id: str) -> None:
    """Remove a member, or leave (a member may always remove itself, unless it is the owner)."""
    leaving = ctx.actor.user is not None and ctx.actor.user.id == user_id and ctx.actor.api_key is None
    if not leaving:
        ctx.require(roles.MEMBERS_MANAGE)
    member, user = await _target(db, ctx, user_id)
    roles.ensure_may_remove(ctx.role, held=rt.catalog.get(member.role), holds_ownership=member.is_owner,
                            leaving=leaving)
    # the member as it was, emitted before the row goes (it is queued in this same transaction)
    await events.member(db, rt, "membership.deleted", member, user, ctx.actor)
    await tasks_repo.unassign_member(db, ctx.team_id, user_id)
    await repo.remove_membership(db, member)
    audit.record(db, rt, ctx.actor, "member.left" if leaving else "member.removed", team_id=ctx.team_id,
                 target_type="user", target_id=user_id, role=member.role)
    await api_keys.revoke_made_by(db, rt, ctx.actor, team_id=ctx.team_id, user_id=user_id, reason="creator_left")
    await db.flush()


async def transfer_ownership(db: AsyncSession, rt: Runtime, ctx: TeamContext,
                             user_id: str) -> tuple[Membership, User]:
    """Only the owner (or a system owner) may; the former owner keeps the next role down."""
    if not roles.may_transfer_ownership(is_owner=ctx.is_owner, by_api_key=ctx.actor.api_key is not None):
        raise errors.Forbidden("Only the team's owner can transfer ownership.")
    new_owner, user = await _target(db, ctx, user_id)
    if new_owner.is_owner:
        return new_owner, user
    old_owner = await repo.owner(db, ctx.team_id)
    if old_owner is not None:
        successor = rt.catalog.successor_role()
        old_owner.is_owner, old_owner.role = False, successor.name
        await db.flush()  # the one-owner index must see the old owner go before the new one arrives
        await api_keys.creator_demoted(db, rt, ctx.actor, team_id=ctx.team_id, user_id=old_owner.user_id,
                                       role=successor)
        # the former owner's new role is a change of its own (team.ownership_transferred shows the new owner)
        _, old_user = await _target(db, ctx, old_owner.user_id)
        await events.member(db, rt, "membership.updated", old_owner, old_user, ctx.actor)
    new_owner.is_owner, new_owner.role = True, rt.catalog.creator_role.name
    audit.record(db, rt, ctx.actor, "team.ownership_transferred", team_id=ctx.team_id, target_type="user",
                 target_id=user_id, previousOwner=old_owner.user_id if old_owner else None)
    # the new owner as the API's transfer answers it (MemberOut)
    await events.member(db, rt, "team.ownership_transferred", new_owner, user, ctx.actor)
    await db.flush()
    return new_owner, user
