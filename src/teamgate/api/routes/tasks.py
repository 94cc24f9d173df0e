"""Tasks and their assignees."""

from __future__ import annotations

from fastapi import APIRouter

from teamgate.api import present
from teamgate.api import schemas as s
from teamgate.api.routes.common import Pages
from teamgate.http.deps import Db, Rt, Team
from teamgate.http.idempotency import Idempotent, IdempotentRoute
from teamgate.services import tasks

router = APIRouter(tags=["tasks"], route_class=IdempotentRoute)


@router.get("/tasks", response_model=s.Page[s.TaskOut])
async def list_tasks(ctx: Team, db: Db, paging: Pages):
    found = await tasks.page(db, ctx, limit=paging.limit + 1, after_id=paging.after_id)
    assigned = await tasks.assignees(db, ctx, found)
    return present.page(found, paging.limit, lambda t: present.task(t, assigned.get(t.id, [])))


@router.post("/tasks", response_model=s.TaskOut, status_code=201)
async def create_task(body: s.TaskCreate, ctx: Team, db: Db, rt: Rt, _key: Idempotent):
    task = await tasks.create(db, rt, ctx, title=body.title, description=body.description,
                              assignee_ids=body.assignee_ids)
    return present.task(task, (await tasks.assignees(db, ctx, [task])).get(task.id, []))


@router.get("/tasks/{task_id}", response_model=s.TaskOut)
async def get_task(task_id: str, ctx: Team, db: Db):
    task = await tasks.get(db, ctx, task_id)
    return present.task(task, (await tasks.assignees(db, ctx, [task])).get(task.id, []))


@router.patch("/tasks/{task_id}", response_model=s.TaskOut)
async def update_task(task_id: str, body: s.TaskUpdate, ctx: Team, db: Db, rt: Rt):
    task = await tasks.update(db, rt, ctx, task_id, title=body.title, description=body.description,
                              assignee_ids=body.assignee_ids)
    return present.task(task, (await tasks.assignees(db, ctx, [task])).get(task.id, []))


@router.delete("/tasks/{task_id}", status_code=204)
async def delete_task(task_id: str, ctx: Team, db: Db, rt: Rt):
    await tasks.delete(db, rt, ctx, task_id)
