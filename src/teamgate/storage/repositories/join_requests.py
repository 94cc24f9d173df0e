"""Join requests: the team's queue, a person's own (across teams, for when their address is
verified), and the conditional updates that decide them."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.domain.joining import OPEN
from teamgate.storage.db import rowcount
from teamgate.storage.models import JoinRequest


def add(db: AsyncSession, request: JoinRequest) -> JoinRequest:
    db.add(request)
    return request


async def in_team(db: AsyncSession, team_id: str, request_id: str) -> JoinRequest | None:
    return await db.scalar(select(JoinRequest).where(JoinRequest.team_id == team_id, JoinRequest.id == request_id))


async def open_for(db: AsyncSession, team_id: str, user_id: str) -> JoinRequest | None:
    return await db.scalar(select(JoinRequest).where(JoinRequest.team_id == team_id, JoinRequest.user_id == user_id,
                                                     JoinRequest.status.in_(OPEN)))


async def page(db: AsyncSession, team_id: str, *, status: str, limit: int, after_id: str | None) -> list[JoinRequest]:
    """Newest first; `status` "all" is every status."""
    query = select(JoinRequest).where(JoinRequest.team_id == team_id)
    if status != "all":
        query = query.where(JoinRequest.status == status)
    if after_id:
        query = query.where(JoinRequest.id < after_id)
    return list(await db.scalars(query.order_by(JoinRequest.id.desc()).limit(limit)))


async def count_open(db: AsyncSession, team_id: str) -> int:
    return await db.scalar(select(func.count()).select_from(JoinRequest).where(
        JoinRequest.team_id == team_id, JoinRequest.status.in_(OPEN))) or 0


async def of_user(db: AsyncSession, user_id: str, statuses: tuple[str, ...]) -> list[JoinRequest]:
    """A person's requests in these statuses, in every team: the transaction acts for that user
    (on PostgreSQL the `my_join_requests` policy shows them, and nothing else of those teams)."""
    return list(await db.scalars(select(JoinRequest).where(JoinRequest.user_id == user_id,
                                                           JoinRequest.status.in_(statuses))
                                 .order_by(JoinRequest.id)))


async def move(db: AsyncSession, request_id: str, *, from_statuses: tuple[str, ...], **values) -> bool:
    """Change a request only if it is still in one of `from_statuses`: of two concurrent
    decisions exactly one sees a row changed."""
    result = await db.execute(update(JoinRequest).where(JoinRequest.id == request_id,
                                                        JoinRequest.status.in_(from_statuses))
                              .values(**values).execution_options(synchronize_session=False))
    return rowcount(result) == 1


async def refresh(db: AsyncSession, request: JoinRequest) -> JoinRequest:
    await db.refresh(request)
    return request
