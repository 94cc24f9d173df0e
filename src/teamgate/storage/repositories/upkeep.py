"""Queries of the periodic upkeep and of /metrics. They cross teams, so on PostgreSQL each runs
in a definer function (migration 0004); on SQLite they are plain queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.domain import delivery
from teamgate.domain.delivery import WEBHOOK_KIND, Channel, OutboxStatus
from teamgate.domain.invitation import PENDING
from teamgate.storage.db import rowcount
from teamgate.storage.models import Invitation, OutboxMessage, Session
from teamgate.storage.scope import enforced


async def overdue_invitations(db: AsyncSession, now: datetime, limit: int) -> list[tuple[str, str]]:
    """(id, team_id) of pending invitations whose time is up, locked until this transaction ends."""
    if enforced(db):
        rows = await db.execute(text("SELECT id, team_id FROM teamgate_overdue_invitations(:now, :limit)"),
                                {"now": now, "limit": limit})
    else:
        rows = await db.execute(select(Invitation.id, Invitation.team_id)
                                .where(Invitation.status == PENDING, Invitation.expires_at <= now)
                                .order_by(Invitation.expires_at).limit(limit))
    return [(row[0], row[1]) for row in rows.all()]


async def invitations_to_remind(db: AsyncSession, now: datetime, window: timedelta,
                                limit: int) -> list[tuple[str, str]]:
    """(id, team_id) of pending invitations whose one reminder is due (domain.invitation.reminder_due),
    locked until this transaction ends (others skip them)."""
    if enforced(db):
        rows = await db.execute(text("SELECT id, team_id FROM teamgate_invitations_to_remind(:now, :window, :limit)"),
                                {"now": now, "window": window.total_seconds(), "limit": limit})
    else:
        rows = await db.execute(select(Invitation.id, Invitation.team_id).where(
            Invitation.status == PENDING, Invitation.last_sent_at.is_not(None),
            or_(Invitation.reminded_at.is_(None), Invitation.reminded_at < Invitation.last_sent_at),
            Invitation.expires_at > now, Invitation.expires_at <= now + window,
            Invitation.lifetime_seconds > window.total_seconds()).order_by(Invitation.expires_at).limit(limit))
    return [(row[0], row[1]) for row in rows.all()]


async def purge(db: AsyncSession, *, outbox_before: datetime, sessions_before: datetime) -> tuple[int, int]:
    """Delete sent or cancelled outbox rows (their bodies already erased) made before
    `outbox_before`, and sessions that ended before `sessions_before`. Returns the two counts."""
    if enforced(db):
        row = (await db.execute(text("SELECT outbox, sessions FROM teamgate_purge(:outbox, :sessions)"),
                                {"outbox": outbox_before, "sessions": sessions_before})).one()
        return row[0], row[1]
    outbox = await db.execute(delete(OutboxMessage).where(
        OutboxMessage.status.in_(delivery.FINISHED), OutboxMessage.body.is_(None),
        OutboxMessage.created_at < outbox_before))
    sessions = await db.execute(delete(Session).where(Session.expires_at < sessions_before))
    return rowcount(outbox), rowcount(sessions)


@dataclass(frozen=True)
class Figures:
    waiting: int  # queued or being sent
    oldest: datetime | None  # when the oldest waiting one was made
    failed: int


async def outbox_figures(db: AsyncSession) -> dict[Channel, Figures]:
    """The outbox's figures for email and for webhooks apart (each present, zero when empty)."""
    if enforced(db):
        rows = (await db.execute(text("SELECT kind, waiting, oldest, failed FROM teamgate_outbox_figures()"))).all()
    else:
        kind = case((OutboxMessage.kind == WEBHOOK_KIND, Channel.WEBHOOK.value), else_=Channel.EMAIL.value)
        waiting = OutboxMessage.status.in_(delivery.WAITING)
        failed = OutboxMessage.status == OutboxStatus.FAILED
        rows = (await db.execute(select(kind, func.count().filter(waiting),
                                        func.min(OutboxMessage.created_at).filter(waiting), func.count().filter(failed))
                                 .group_by(kind))).all()
    found = {Channel(row[0]): Figures(row[1], row[2], row[3]) for row in rows}
    return {c: found.get(c, Figures(0, None, 0)) for c in Channel}

