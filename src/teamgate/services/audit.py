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


def event(rt: Runtime, actor: Actor, action: str, *, team_id: str | None, target_type: str | None = None,
          target_id: str | None = None, **data: Any) -> AuditEvent:
    """The event `record` writes, built and not yet added (a create writes it with its invitation)."""
    return AuditEvent(id=new_id("evt"), team_id=team_id, actor_type=actor.kind, actor_id=actor.id,
                      actor_server_key_id=actor.server_key.id if actor.server_key else None, action=action,
                      target_type=target_type, target_id=target_id, ip=actor.ip, user_agent=actor.user_agent,
                      data=data, created_at=rt.clock.now())


def counted(db: AsyncSession, event: AuditEvent) -> None:
    """Its metric, once the transaction that writes it commits."""
    call_after_commit(db, functools.partial(metrics.committed, event.action, {
        "team_id": event.team_id, "target_id": event.target_id, "actor_type": event.actor_type,
        "actor_id": event.actor_id}))


def record(db: AsyncSession, rt: Runtime, actor: Actor, action: str, *, team_id: str | None,
           target_type: str | None = None, target_id: str | None = None, **data: Any) -> AuditEvent:
    row = event(rt, actor, action, team_id=team_id, target_type=target_type, target_id=target_id, **data)
    db.add(row)
    counted(db, row)
    return row


async def page(db: AsyncSession, ctx: TeamContext, *, limit: int, after_id: str | None,
               action: str | None = None) -> list[AuditEvent]:
    ctx.require("audit:read")
    return await audit_repo.page(db, ctx.team_id, limit=limit, after_id=after_id, action=action)
