"""The outbox as operators see it: what is queued, sent or failed, and retrying what failed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.domain.invitation import PENDING
from teamgate.runtime import Runtime
from teamgate.services import audit
from teamgate.services.context import Actor
from teamgate.storage.models import Invitation, OutboxMessage
from teamgate.storage.repositories import outbox as repo


@dataclass(frozen=True)
class RetryResult:
    retried: list[str]
    skipped: dict[str, str]  # message id -> why it was not retried


async def page(db: AsyncSession, *, status: str | None, limit: int = 100) -> list[OutboxMessage]:
    return await repo.by_status(db, status, limit=limit)


async def retry(db: AsyncSession, rt: Runtime, actor: Actor, *, ids: list[str] | None = None) -> RetryResult:
    """Queue failed messages again (all failed ones when `ids` is None), with a fresh set of attempts.
    A message whose invitation is no longer pending is left alone: its link would not work."""
    now = rt.clock.now()
    rows = await repo.by_ids(db, ids) if ids else await repo.by_status(db, "failed", limit=10_000)
    result = RetryResult(retried=[], skipped={i: "no such message" for i in ids or []})
    for row in rows:
        result.skipped.pop(row.id, None)
        if row.status != "failed":
            result.skipped[row.id] = f"it is {row.status}, not failed"
            continue
        invitation = await db.get(Invitation, row.invitation_id) if row.invitation_id else None
        if invitation is not None and (invitation.status != PENDING or invitation.expires_at <= now):
            result.skipped[row.id] = "its invitation is no longer pending; resend the invitation instead"
            continue
        row.status, row.attempts, row.next_attempt_at, row.last_error, row.last_error_code = "queued", 0, now, None, None
        if invitation is not None:
            invitation.delivery_status, invitation.delivery_attempts, invitation.delivery_last_error = "queued", 0, None
            invitation.delivery_last_error_code = None
        audit.record(db, rt, actor, "email.retried", team_id=row.team_id, target_type="outbox_message",
                     target_id=row.id, invitationId=row.invitation_id)
        result.retried.append(row.id)
    return result
