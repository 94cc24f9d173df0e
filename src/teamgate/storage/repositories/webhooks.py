"""Webhook endpoints and their deliveries (outbox messages of kind `webhook`), always within a team."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.storage.models import OutboxMessage, WebhookEndpoint


def add(db: AsyncSession, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    db.add(endpoint)
    return endpoint


async def in_team(db: AsyncSession, team_id: str, endpoint_id: str) -> WebhookEndpoint | None:
    return await db.scalar(select(WebhookEndpoint).where(WebhookEndpoint.team_id == team_id,
                                                         WebhookEndpoint.id == endpoint_id))


async def page(db: AsyncSession, team_id: str, *, limit: int, after_id: str | None) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).where(WebhookEndpoint.team_id == team_id)
    if after_id:
        query = query.where(WebhookEndpoint.id < after_id)
    return list(await db.scalars(query.order_by(WebhookEndpoint.id.desc()).limit(limit)))


_ENABLED = select(WebhookEndpoint).where(  # read by every change that may emit an event: built once
    WebhookEndpoint.team_id == bindparam("team"), WebhookEndpoint.disabled_at.is_(None)).order_by(WebhookEndpoint.id)


async def enabled(db: AsyncSession, team_id: str) -> list[WebhookEndpoint]:
    return list(await db.scalars(_ENABLED, {"team": team_id}))


async def remove(db: AsyncSession, endpoint: WebhookEndpoint) -> None:
    await db.delete(endpoint)


async def deliveries(db: AsyncSession, team_id: str, endpoint_id: str, *, limit: int,
                     after_id: str | None) -> list[OutboxMessage]:
    """Newest first (ids are time-ordered)."""
    query = select(OutboxMessage).where(OutboxMessage.team_id == team_id,
                                        OutboxMessage.webhook_endpoint_id == endpoint_id)
    if after_id:
        query = query.where(OutboxMessage.id < after_id)
    return list(await db.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))


async def delivery(db: AsyncSession, team_id: str, endpoint_id: str, delivery_id: str) -> OutboxMessage | None:
    return await db.scalar(select(OutboxMessage).where(OutboxMessage.team_id == team_id,
                                                       OutboxMessage.webhook_endpoint_id == endpoint_id,
                                                       OutboxMessage.id == delivery_id))


async def endpoint(db: AsyncSession, endpoint_id: str) -> WebhookEndpoint | None:
    """By id alone: for the dispatcher, whose transaction is already scoped to the message's team."""
    return await db.get(WebhookEndpoint, endpoint_id)
