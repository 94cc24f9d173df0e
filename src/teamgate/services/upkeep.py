"""The periodic job every dispatcher runs: expire overdue invitations and purge what is no longer
needed. Safe to run from many workers at once: each overdue invitation is locked by the job that
takes it (others skip it) and changed by one conditional update."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.domain import invitation as rules
from teamgate.runtime import Runtime
from teamgate.services import audit, events, idempotency, outbox
from teamgate.services.context import Actor
from teamgate.storage.repositories import invitations as invitations_repo
from teamgate.storage.repositories import upkeep as repo
from teamgate.storage.scope import act_for

BATCH = 500


@dataclass(frozen=True)
class Done:
    expired: int
    outbox_purged: int
    sessions_purged: int
    answers_purged: int = 0  # idempotency keys' kept answers, past their 24 hours


async def expire_overdue(db: AsyncSession, rt: Runtime, *, limit: int = BATCH) -> int:
    """Mark up to `limit` overdue pending invitations `expired`, each with an audit event, and drop
    their queued emails (the link in them no longer works). Returns how many were expired."""
    now = rt.clock.now()
    expired = 0
    for invitation_id, team_id in await repo.overdue_invitations(db, now, limit):
        await act_for(db, team_id=team_id)  # each change within its own team's walls
        move = rules.expire()
        if not await invitations_repo.transition(db, invitation_id, from_statuses=move.from_statuses, **move.values):
            continue
        await outbox.cancel_queued_for(db, invitation_id)
        audit.record(db, rt, Actor.system(), "invitation.expired", team_id=team_id, target_type="invitation",
                     target_id=invitation_id, reason="overdue")
        if (row := await invitations_repo.in_team(db, team_id, invitation_id)) is not None:
            await events.invitation(db, rt, "invitation.expired", await invitations_repo.refresh(db, row))
        await db.flush()  # written now, under this team's scope, before the next team's
        expired += 1
    return expired


async def purge(db: AsyncSession, rt: Runtime) -> tuple[int, int, int]:
    """Erased outbox rows older than the retention period, sessions that have ended, and the
    answers kept for idempotency keys that have expired (some hold a secret: they go at once)."""
    now = rt.clock.now()
    outbox_purged, sessions_purged = await repo.purge(
        db, outbox_before=now - timedelta(days=rt.settings.retention_days), sessions_before=now)
    return outbox_purged, sessions_purged, await idempotency.purge(db, rt)
