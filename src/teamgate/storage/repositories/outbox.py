"""Outbox rows: adding and cancelling messages, claiming due ones under a lease, recording outcomes,
operator views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, Text, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.domain import delivery
from teamgate.domain.delivery import OutboxStatus
from teamgate.storage.db import rowcount
from teamgate.storage.models import Invitation, OutboxMessage, WebhookEndpoint
from teamgate.storage.scope import enforced


def add(db: AsyncSession, message: OutboxMessage) -> OutboxMessage:
    db.add(message)
    return message


async def cancel_queued_for(db: AsyncSession, invitation_id: str) -> None:
    """Queued messages of this invitation become `cancelled`, their bodies erased."""
    await db.execute(update(OutboxMessage)
                     .where(OutboxMessage.invitation_id == invitation_id, OutboxMessage.status == delivery.CANCELLABLE)
                     .values(**delivery.cancelled()).execution_options(synchronize_session=False))


@dataclass(frozen=True)
class ClaimedRow:
    id: str
    team_id: str | None
    invitation_id: str | None
    attempts: int
    recipient: str
    subject: str
    body: bytes | None
    kind: str = ""
    event_id: str | None = None  # a webhook's event id


async def claim_due(db: AsyncSession, now: datetime, limit: int, claim_id: str,
                    lease_until: datetime) -> list[ClaimedRow]:
    """Take up to `limit` due messages of every team, marked `sending` under this claim until
    `lease_until`. On PostgreSQL rows another dispatcher holds are skipped, not waited for, and the
    cross-team step runs in a definer function (the dispatcher acts for no team)."""
    if enforced(db):
        rows = await db.execute(text("SELECT * FROM teamgate_outbox_claim(:now, :limit, :claim, :lease)"),
                                {"now": now, "limit": limit, "claim": claim_id, "lease": lease_until})
        return [ClaimedRow(*row) for row in rows.all()]
    query = (select(OutboxMessage)
             .where(OutboxMessage.status.in_(delivery.WAITING), OutboxMessage.next_attempt_at <= now)
             .order_by(OutboxMessage.next_attempt_at).limit(limit))
    claimed = []
    for row in await db.scalars(query):
        for column, value in delivery.claimed(row.attempts).items():
            setattr(row, column, value)
        row.claim_id, row.next_attempt_at = claim_id, lease_until
        claimed.append(ClaimedRow(row.id, row.team_id, row.invitation_id, row.attempts, row.recipient, row.subject,
                                  row.body, row.kind, row.event_id))
    return claimed


async def finish(db: AsyncSession, message_id: str, claim_id: str, **values) -> bool:
    """Record an outcome only if this claim still holds the message (its lease was not taken over)."""
    result = await db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.claim_id == claim_id,
               OutboxMessage.status == OutboxStatus.SENDING)
        .values(**values).execution_options(synchronize_session=False))
    return rowcount(result) == 1


async def finish_many(db: AsyncSession, message_ids: list[str], claim_id: str, **values) -> set[str]:
    """Record one outcome for many messages in one statement, each only where this claim still
    holds it; returns the ids recorded."""
    result = await db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(message_ids), OutboxMessage.claim_id == claim_id,
               OutboxMessage.status == OutboxStatus.SENDING)
        .values(**values).returning(OutboxMessage.id).execution_options(synchronize_session=False))
    return set(result.scalars())


async def mirror_sent(db: AsyncSession, message_ids: list[str], now: datetime) -> None:
    """The invitations of these sent messages show them sent, each with its message's attempts:
    one statement for all of them."""
    # max: two messages of one invitation may be in one batch (a resend while the first was in hand)
    message = select(func.max(OutboxMessage.attempts)).where(OutboxMessage.invitation_id == Invitation.id,
                                                             OutboxMessage.id.in_(message_ids)).scalar_subquery()
    await db.execute(
        update(Invitation)
        .where(Invitation.id.in_(select(OutboxMessage.invitation_id).where(OutboxMessage.id.in_(message_ids))))
        .values(delivery_status=delivery.delivery_of(OutboxStatus.SENT), delivery_attempts=message,
                delivery_last_error=None, delivery_last_error_code=None, delivery_sent_at=now)
        .execution_options(synchronize_session=False))


@dataclass(frozen=True)
class RecordedSent:
    """What `record_sent` recorded: the messages whose claim still held (the others another
    dispatcher has now), and, for each of their teams with enabled webhook endpoints, the
    endpoints' `events` lists (the facts for domain/webhooks.wants)."""
    ids: frozenset[str]
    endpoint_events: dict[str, list[list[str]]]


_RECORD = text("SELECT id, team_id, endpoint_events FROM teamgate_outbox_record(:claim, :ids, :now)").bindparams(
    bindparam("ids", type_=ARRAY(Text())))
_ENDPOINT_EVENTS = (select(WebhookEndpoint.team_id, WebhookEndpoint.events)  # SQLite's second step: built once
                    .where(WebhookEndpoint.disabled_at.is_(None),
                           WebhookEndpoint.team_id.in_(select(OutboxMessage.team_id)
                                                       .where(OutboxMessage.id.in_(bindparam("ids", expanding=True))))))


async def record_sent(db: AsyncSession, message_ids: list[str], claim_id: str, now: datetime) -> RecordedSent:
    """The sent emails of a batch, of every team: finished where this claim still holds them, and
    their invitations' mirrors, as `finish_many` and `mirror_sent` do. On PostgreSQL one statement
    across the teams' walls (a definer function, migration 0015); on SQLite, which has no walls,
    those two and a read of the teams' endpoints."""
    if enforced(db):
        rows = (await db.execute(_RECORD, {"claim": claim_id, "ids": message_ids, "now": now})).all()
        events: dict[str, list[list[str]]] = {}
        for _id, team_id, endpoint_events in rows:
            if endpoint_events and team_id is not None:
                events[team_id] = endpoint_events
        return RecordedSent(frozenset(row[0] for row in rows), events)
    recorded = await finish_many(db, message_ids, claim_id, **delivery.sent(now))
    if not recorded:
        return RecordedSent(frozenset(), {})
    await mirror_sent(db, list(recorded), now)
    events = {}
    for team_id, endpoint_events in await db.execute(_ENDPOINT_EVENTS, {"ids": list(recorded)}):
        events.setdefault(team_id, []).append(endpoint_events)
    return RecordedSent(frozenset(recorded), events)


_RECORD_DELIVERED = text(
    "SELECT id, failing_since FROM teamgate_outbox_record_delivered(:claim, :ids, :statuses, :excerpts, :now)"
).bindparams(bindparam("ids", type_=ARRAY(Text())), bindparam("statuses", type_=ARRAY(Integer())),
             bindparam("excerpts", type_=ARRAY(Text())))


async def record_delivered(db: AsyncSession, answers: list[tuple[str, int | None, str | None]], claim_id: str,
                           now: datetime) -> dict[str, datetime | None]:
    """The delivered webhooks of a batch, of every team, each with its answer (id, the receiver's
    status, the excerpt of its body): finished where this claim still holds them. Returns each
    recorded delivery's endpoint's `failing_since`. On PostgreSQL one statement across the teams'
    walls (migration 0015); on SQLite one per answer alike, and a read of the endpoints."""
    if enforced(db):
        ids, statuses, excerpts = (list(column) for column in zip(*answers, strict=True))
        rows = await db.execute(_RECORD_DELIVERED, {"claim": claim_id, "ids": ids, "statuses": statuses,
                                                    "excerpts": excerpts, "now": now})
        return dict(rows.all())
    alike: dict[tuple[int | None, str | None], list[str]] = {}
    for message_id, status, excerpt in answers:
        alike.setdefault((status, excerpt), []).append(message_id)
    recorded: set[str] = set()
    for (status, excerpt), message_ids in alike.items():
        recorded |= await finish_many(db, message_ids, claim_id, **delivery.sent(now), last_response_status=status,
                                      last_response_excerpt=excerpt)
    streaks = await db.execute(
        select(OutboxMessage.id, WebhookEndpoint.failing_since)
        .outerjoin(WebhookEndpoint, WebhookEndpoint.id == OutboxMessage.webhook_endpoint_id)
        .where(OutboxMessage.id.in_(recorded)))
    return dict(streaks.all())


async def invitations_in_team(db: AsyncSession, team_id: str, invitation_ids: list[str]) -> list[Invitation]:
    """These invitations of one team as they are now (one read: the events of a recorded batch)."""
    return list(await db.scalars(
        select(Invitation).where(Invitation.team_id == team_id, Invitation.id.in_(invitation_ids))
        .order_by(Invitation.id).execution_options(populate_existing=True)))


async def release(db: AsyncSession, message_id: str, claim_id: str, due: datetime) -> bool:
    """Hand back a claimed message that was never attempted: queued, due at `due` (now, or later
    when it waits for its recipient's cap), the claim's attempt not counted."""
    result = await db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.claim_id == claim_id,
               OutboxMessage.status == OutboxStatus.SENDING)
        .values(**delivery.released(), attempts=OutboxMessage.attempts - 1, next_attempt_at=due)
        .execution_options(synchronize_session=False))
    return rowcount(result) == 1


async def mirror_delivery(db: AsyncSession, invitation_id: str, **values) -> None:
    await db.execute(update(Invitation).where(Invitation.id == invitation_id).values(**values)
                     .execution_options(synchronize_session=False))


async def by_status(db: AsyncSession, status: str | None, *, limit: int, after_id: str | None = None,
                    channel: delivery.Channel | None = None) -> list[OutboxMessage]:
    """Newest first; all statuses when `status` is None, emails or webhook deliveries alone when
    `channel` says which."""
    query = select(OutboxMessage)
    if status:
        query = query.where(OutboxMessage.status == status)
    if channel is delivery.Channel.WEBHOOK:
        query = query.where(OutboxMessage.kind == delivery.WEBHOOK_KIND)
    elif channel is delivery.Channel.EMAIL:
        query = query.where(OutboxMessage.kind != delivery.WEBHOOK_KIND)
    if after_id:
        query = query.where(OutboxMessage.id < after_id)
    return list(await db.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))


async def by_ids(db: AsyncSession, ids: list[str]) -> list[OutboxMessage]:
    return list(await db.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)))


async def invitation(db: AsyncSession, invitation_id: str) -> Invitation | None:
    """The invitation a message belongs to (its delivery state mirrors the message's)."""
    return await db.get(Invitation, invitation_id)
