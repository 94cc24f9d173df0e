"""Outbox rows: claiming due messages and recording what happened to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.storage.models import OutboxMessage


async def claim_due(db: AsyncSession, now: datetime, limit: int) -> list[OutboxMessage]:
    """Due messages, locked; on PostgreSQL rows another sender holds are skipped, not waited for."""
    query = (select(OutboxMessage)
             .where(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now)
             .order_by(OutboxMessage.next_attempt_at).limit(limit)
             .with_for_update(skip_locked=True))
    return list(await db.scalars(query))
