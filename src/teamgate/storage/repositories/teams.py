"""Teams, memberships and the members' view."""

from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.storage.models import Membership, Team, User


async def team_by_id(db: AsyncSession, team_id: str) -> Team | None:
    return await db.get(Team, team_id)


async def lock_team(db: AsyncSession, team_id: str) -> Team | None:
    """Take the team's row lock (PostgreSQL) so seat counts cannot race; SQLite already serialises writers."""
    return await db.scalar(select(Team).where(Team.id == team_id).with_for_update())


async def membership(db: AsyncSession, team_id: str, user_id: str) -> Membership | None:
    return await db.get(Membership, (team_id, user_id))


async def remove_membership(db: AsyncSession, membership: Membership) -> None:
    await db.delete(membership)


_MEMBER_BY_EMAIL = (select(Membership).join(User, User.id == Membership.user_id)  # every create: built once
                    .where(Membership.team_id == bindparam("team"), User.email_normalized == bindparam("email")))


async def membership_by_email(db: AsyncSession, team_id: str, email_normalized: str) -> Membership | None:
    return await db.scalar(_MEMBER_BY_EMAIL, {"team": team_id, "email": email_normalized})


async def members(db: AsyncSession, team_id: str) -> list[tuple[Membership, User]]:
    rows = await db.execute(
        select(Membership, User).join(User, User.id == Membership.user_id)
        .where(Membership.team_id == team_id).order_by(Membership.created_at, User.id))
    return [(m, u) for m, u in rows.all()]


async def member_with_user(db: AsyncSession, team_id: str, user_id: str) -> tuple[Membership, User] | None:
    row = (await db.execute(
        select(Membership, User).join(User, User.id == Membership.user_id)
        .where(Membership.team_id == team_id, Membership.user_id == user_id))).first()
    return (row[0], row[1]) if row else None


async def count_members(db: AsyncSession, team_id: str) -> int:
    return await db.scalar(select(func.count()).select_from(Membership).where(Membership.team_id == team_id)) or 0


async def owner(db: AsyncSession, team_id: str) -> Membership | None:
    return await db.scalar(select(Membership).where(Membership.team_id == team_id, Membership.is_owner))


async def teams_of_user(db: AsyncSession, user_id: str) -> list[tuple[Team, Membership]]:
    rows = await db.execute(
        select(Team, Membership).join(Membership, Membership.team_id == Team.id)
        .where(Membership.user_id == user_id).order_by(Team.created_at, Team.id))
    return [(t, m) for t, m in rows.all()]
