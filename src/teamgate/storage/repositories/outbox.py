"""Outbox rows: claiming due messages under a lease, recording outcomes, operator views."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.storage.models import Invitation, OutboxMessage

DUE_STATUSES = ("queued", "sending")  # `sending` rows are due again once their lease runs out


async def claim_due(db: AsyncSession, now: datetime, limit: int) -> list[OutboxMessage]:
    """Due messages, locked; on PostgreSQL rows another dispatcher holds are skipped, not waited for."""
    query = (select(OutboxMessage)
             .where(OutboxMessage.status.in_(DUE_STATUSES), OutboxMessage.next_attempt_at <= now)
             .order_by(OutboxMessage.next_attempt_at).limit(limit)
             .with_for_update(skip_locked=True))
    return list(await db.scalars(query))


async def finish(db: AsyncSession, message_id: str, claim_id: str, **values) -> bool:
    """Record an outcome only if this claim still holds the message (its lease was not taken over)."""
    result = await db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.claim_id == claim_id, OutboxMessage.status == "sending")
        .values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


async def mirror_delivery(db: AsyncSession, invitation_id: str, **values) -> None:
    await db.execute(update(Invitation).where(Invitation.id == invitation_id).values(**values)
                     .execution_options(synchronize_session=False))


async def by_status(db: AsyncSession, status: str | None, *, limit: int, after_id: str | None = None
                    ) -> list[OutboxMessage]:
    query = select(OutboxMessage)
    if status:
        query = query.where(OutboxMessage.status == status)
    if after_id:
        query = query.where(OutboxMessage.id < after_id)
    return list(await db.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))


async def by_ids(db: AsyncSession, ids: list[str]) -> list[OutboxMessage]:
    return list(await db.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)))
