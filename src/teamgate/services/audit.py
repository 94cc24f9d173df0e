"""Audit events: one for every change, written in the same transaction as the change. An event
made through a server key names the key beside the person it acted for (DESIGN 12)."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import metrics
from teamgate.domain.ids import new_id
from teamgate.runtime import Runtime
from teamgate.services.context import Actor, TeamContext
from teamgate.storage.after_commit import call_after_commit
from teamgate.storage.models import AuditEvent
from teamgate.storage.repositories import audit as audit_repo


def record(db: AsyncSession, rt: Runtime, actor: Actor, action: str, *, team_id: str | None,
           target_type: str | None = None, target_id: str | None = None, **data: Any) -> AuditEvent:
    event = AuditEvent(id=new_id("evt"), team_id=team_id, actor_type=actor.kind, actor_id=actor.id,
                       actor_server_key_id=actor.server_key.id if actor.server_key else None, action=action,
                       target_type=target_type, target_id=target_id, ip=actor.ip, user_agent=actor.user_agent,
                       data=data, created_at=rt.clock.now())
    db.add(event)
    call_after_commit(db, functools.partial(metrics.committed, action, {
        "team_id": team_id, "target_id": target_id, "actor_type": actor.kind, "actor_id": actor.id}))
    return event


async def page(db: AsyncSession, ctx: TeamContext, *, limit: int, after_id: str | None,
               action: str | None = None) -> list[AuditEvent]:
    ctx.require("audit:read")
    return await audit_repo.page(db, ctx.team_id, limit=limit, after_id=after_id, action=action)
