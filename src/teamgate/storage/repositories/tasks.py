"""Tasks and their assignees."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.storage.models import Task, TaskAssignment


async def in_team(db: AsyncSession, team_id: str, task_id: str) -> Task | None:
    return await db.scalar(select(Task).where(Task.team_id == team_id, Task.id == task_id))


async def remove(db: AsyncSession, task: Task) -> None:
    await db.delete(task)


async def existing_ids(db: AsyncSession, team_id: str, task_ids: list[str]) -> set[str]:
    if not task_ids:
        return set()
    return set(await db.scalars(select(Task.id).where(Task.team_id == team_id, Task.id.in_(task_ids))))


async def named(db: AsyncSession, team_id: str, names: set[str]) -> list[Task]:
    """The team's tasks whose id or title is one of `names` (titles also in lower case: the caller
    compares letter case as it needs; SQLite lowers only ASCII)."""
    if not names:
        return []
    return list(await db.scalars(select(Task).where(Task.team_id == team_id, or_(
        Task.id.in_(names), Task.title.in_(names), func.lower(Task.title).in_({n.lower() for n in names})))
        .order_by(Task.id)))


async def page(db: AsyncSession, team_id: str, *, limit: int, after_id: str | None) -> list[Task]:
    query = select(Task).where(Task.team_id == team_id)
    if after_id:
        query = query.where(Task.id < after_id)
    return list(await db.scalars(query.order_by(Task.id.desc()).limit(limit)))


async def by_ids(db: AsyncSession, team_id: str, task_ids: list[str]) -> list[Task]:
    if not task_ids:
        return []
    return list(await db.scalars(select(Task).where(Task.team_id == team_id, Task.id.in_(task_ids)).order_by(Task.id)))


async def assignees(db: AsyncSession, team_id: str, task_ids: list[str]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = defaultdict(list)
    if task_ids:
        rows = await db.execute(select(TaskAssignment.task_id, TaskAssignment.user_id).where(
            TaskAssignment.team_id == team_id, TaskAssignment.task_id.in_(task_ids))
            .order_by(TaskAssignment.created_at, TaskAssignment.user_id))
        for task_id, user_id in rows.all():
            result[task_id].append(user_id)
    return result


async def set_assignees(db: AsyncSession, team_id: str, task_id: str, user_ids: list[str], now) -> None:
    await db.execute(delete(TaskAssignment).where(TaskAssignment.team_id == team_id, TaskAssignment.task_id == task_id))
    db.add_all([TaskAssignment(task_id=task_id, user_id=u, team_id=team_id, created_at=now) for u in user_ids])


async def unassign_member(db: AsyncSession, team_id: str, user_id: str) -> None:
    await db.execute(delete(TaskAssignment).where(TaskAssignment.team_id == team_id, TaskAssignment.user_id == user_id))
