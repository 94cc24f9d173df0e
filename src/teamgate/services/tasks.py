"""Tasks: what a team's members take on; invitations may assign them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain.ids import is_id, new_id
from teamgate.runtime import Runtime
from teamgate.services import audit
from teamgate.services.context import TeamContext
from teamgate.storage.models import Task
from teamgate.storage.repositories import tasks as repo
from teamgate.storage.repositories import teams as teams_repo


async def _check_assignees(db: AsyncSession, ctx: TeamContext, user_ids: list[str]) -> list[str]:
    user_ids = list(dict.fromkeys(user_ids))
    for user_id in user_ids:
        if await teams_repo.membership(db, ctx.team_id, user_id) is None:
            raise errors.ValidationFailed("assigneeIds", f"{user_id} is not a member of this team")
    return user_ids


async def get(db: AsyncSession, ctx: TeamContext, task_id: str) -> Task:
    ctx.require("team:read")
    task = await repo.in_team(db, ctx.team_id, task_id) if is_id(task_id) else None
    if task is None:
        raise errors.NotFound("No such task in this team.")
    return task


async def page(db: AsyncSession, ctx: TeamContext, *, limit: int, after_id: str | None) -> list[Task]:
    ctx.require("team:read")
    return await repo.page(db, ctx.team_id, limit=limit, after_id=after_id)


async def assignees(db: AsyncSession, ctx: TeamContext, tasks: list[Task]) -> dict[str, list[str]]:
    return await repo.assignees(db, ctx.team_id, [t.id for t in tasks])


async def create(db: AsyncSession, rt: Runtime, ctx: TeamContext, *, title: str, description: str = "",
                 assignee_ids: list[str] | None = None) -> Task:
    ctx.require("tasks:manage")
    user_ids = await _check_assignees(db, ctx, assignee_ids or [])
    now = rt.clock.now()
    task = Task(id=new_id("task"), team_id=ctx.team_id, title=title.strip(), description=description, created_at=now)
    db.add(task)
    await db.flush()
    await repo.set_assignees(db, ctx.team_id, task.id, user_ids, now)
    audit.record(db, rt, ctx.actor, "task.created", team_id=ctx.team_id, target_type="task", target_id=task.id,
                 title=task.title, assigneeIds=user_ids)
    await db.flush()
    return task


async def update(db: AsyncSession, rt: Runtime, ctx: TeamContext, task_id: str, *, title: str | None = None,
                 description: str | None = None, assignee_ids: list[str] | None = None) -> Task:
    ctx.require("tasks:manage")
    task = await get(db, ctx, task_id)
    changes: dict = {}
    if title is not None:
        task.title = changes["title"] = title.strip()
    if description is not None:
        task.description = changes["description"] = description
    if assignee_ids is not None:
        changes["assigneeIds"] = await _check_assignees(db, ctx, assignee_ids)
        await repo.set_assignees(db, ctx.team_id, task.id, changes["assigneeIds"], rt.clock.now())
    audit.record(db, rt, ctx.actor, "task.updated", team_id=ctx.team_id, target_type="task", target_id=task.id,
                 **changes)
    await db.flush()
    return task


async def delete(db: AsyncSession, rt: Runtime, ctx: TeamContext, task_id: str) -> None:
    ctx.require("tasks:manage")
    task = await get(db, ctx, task_id)
    await repo.set_assignees(db, ctx.team_id, task.id, [], rt.clock.now())
    await repo.remove(db, task)
    audit.record(db, rt, ctx.actor, "task.deleted", team_id=ctx.team_id, target_type="task", target_id=task_id,
                 title=task.title)
    await db.flush()
