"""The audit trail."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.storage.models import AuditEvent


async def page(db: AsyncSession, team_id: str, *, limit: int, after_id: str | None,
               action: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.team_id == team_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if after_id:
        query = query.where(AuditEvent.id < after_id)
    return list(await db.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))
