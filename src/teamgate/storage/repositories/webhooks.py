"""Webhook endpoints and their deliveries (outbox messages of kind `webhook`), always within a team."""

from __future__ import annotations

from sqlalchemy import bindparam, event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from teamgate.storage.models import OutboxMessage, WebhookEndpoint

# team id -> its enabled endpoints, read once per transaction (see `enabled`)
_ENABLED = "teamgate.enabled_webhook_endpoints"


def add(db: AsyncSession, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    db.add(endpoint)
    forget(db)
    return endpoint


async def in_team(db: AsyncSession, team_id: str, endpoint_id: str) -> WebhookEndpoint | None:
    return await db.scalar(select(WebhookEndpoint).where(WebhookEndpoint.team_id == team_id,
                                                         WebhookEndpoint.id == endpoint_id))


async def page(db: AsyncSession, team_id: str, *, limit: int, after_id: str | None) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).where(WebhookEndpoint.team_id == team_id)
    if after_id:
        query = query.where(WebhookEndpoint.id < after_id)
    return list(await db.scalars(query.order_by(WebhookEndpoint.id.desc()).limit(limit)))


_ENABLED_QUERY = select(WebhookEndpoint).where(  # read by every change that may emit an event: built once
    WebhookEndpoint.team_id == bindparam("team"), WebhookEndpoint.disabled_at.is_(None)).order_by(WebhookEndpoint.id)


async def enabled(db: AsyncSession, team_id: str) -> list[WebhookEndpoint]:
    """The team's enabled endpoints, read once per transaction: a change that emits two events
    (an accept: invitation.accepted, then membership.created) asks the database once, and both
    events go to the same endpoints. Adding or removing an endpoint here, or `forget`, reads
    them again; the rows themselves are the session's, so other changes to them show at once."""
    memo: dict[str, list[WebhookEndpoint]] = db.info.setdefault(_ENABLED, {})
    if team_id not in memo:
        memo[team_id] = list(await db.scalars(_ENABLED_QUERY, {"team": team_id}))
    return memo[team_id]


def known(db: AsyncSession, team_id: str) -> list[WebhookEndpoint] | None:
    """The team's enabled endpoints if this transaction has read them already, else None."""
    return db.info.get(_ENABLED, {}).get(team_id)


def remember(db: AsyncSession, team_id: str, endpoints: list[WebhookEndpoint]) -> None:
    """The team's enabled endpoints, read by a statement that gathered them with other facts (a
    create's): `enabled` then finds them without asking again."""
    db.info.setdefault(_ENABLED, {})[team_id] = endpoints


def forget(db: AsyncSession) -> None:
    """An endpoint was enabled, disabled, added or removed in this transaction: read them again."""
    db.info.pop(_ENABLED, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _transaction_ended(session: Session) -> None:
    session.info.pop(_ENABLED, None)


async def remove(db: AsyncSession, endpoint: WebhookEndpoint) -> None:
    await db.delete(endpoint)
    forget(db)


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
