"""Join links: lookups within a team, by token (across teams, then scoped), and the use counter."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.storage.db import rowcount
from teamgate.storage.models import JoinLink
from teamgate.storage.scope import act_for_found


def add(db: AsyncSession, link: JoinLink) -> JoinLink:
    db.add(link)
    return link


async def in_team(db: AsyncSession, team_id: str, link_id: str) -> JoinLink | None:
    return await db.scalar(select(JoinLink).where(JoinLink.team_id == team_id, JoinLink.id == link_id))


async def by_token_hash(db: AsyncSession, token_hash: bytes) -> JoinLink | None:
    """The link behind a token, from any team; the transaction is then scoped to its team."""
    if not await act_for_found(db, "SELECT id, team_id FROM teamgate_join_link_by_token(:h)", {"h": token_hash},
                               scope="team_id"):
        return None
    return await db.scalar(select(JoinLink).where(JoinLink.token_hash == token_hash))


async def page(db: AsyncSession, team_id: str, *, limit: int, after_id: str | None,
               include_deleted: bool = False) -> list[JoinLink]:
    """Newest first."""
    query = select(JoinLink).where(JoinLink.team_id == team_id)
    if not include_deleted:
        query = query.where(JoinLink.deleted_at.is_(None))
    if after_id:
        query = query.where(JoinLink.id < after_id)
    return list(await db.scalars(query.order_by(JoinLink.id.desc()).limit(limit)))


async def take_use(db: AsyncSession, link_id: str, now: datetime) -> bool:
    """Count one use, only while the link is live and under its cap: one conditional UPDATE, so of
    concurrent uses (PostgreSQL re-reads the row each waited for) never more than `max_uses` win."""
    result = await db.execute(
        update(JoinLink).where(JoinLink.id == link_id, JoinLink.deleted_at.is_(None), JoinLink.expires_at > now,
                               or_(JoinLink.max_uses.is_(None), JoinLink.uses < JoinLink.max_uses))
        .values(uses=JoinLink.uses + 1).execution_options(synchronize_session=False))
    return rowcount(result) == 1


async def mark_deleted(db: AsyncSession, link_id: str, now: datetime) -> bool:
    result = await db.execute(update(JoinLink).where(JoinLink.id == link_id, JoinLink.deleted_at.is_(None))
                              .values(deleted_at=now).execution_options(synchronize_session=False))
    return rowcount(result) == 1


async def refresh(db: AsyncSession, link: JoinLink) -> JoinLink:
    await db.refresh(link)
    return link
