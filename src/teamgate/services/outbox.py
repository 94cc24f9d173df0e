"""The outbox as operators see it: what is queued, sent or failed, and retrying what failed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.domain import delivery
from teamgate.domain import invitation as rules
from teamgate.domain.delivery import OutboxStatus
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
    rows = await repo.by_ids(db, ids) if ids else await repo.by_status(db, OutboxStatus.FAILED, limit=10_000)
    result = RetryResult(retried=[], skipped={i: "no such message" for i in ids or []})
    for row in rows:
        result.skipped.pop(row.id, None)
        if not delivery.may_retry(row.status):
            result.skipped[row.id] = f"it is {row.status}, not {OutboxStatus.FAILED}"
            continue
        invitation = await db.get(Invitation, row.invitation_id) if row.invitation_id else None
        if invitation is not None and (
                rules.effective_status(invitation.status, invitation.expires_at, now) != rules.PENDING):
            result.skipped[row.id] = "its invitation is no longer pending; resend the invitation instead"
            continue
        _apply(row, delivery.retried(now))
        if invitation is not None:
            _apply(invitation, delivery.delivery_retried())
        audit.record(db, rt, actor, "email.retried", team_id=row.team_id, target_type="outbox_message",
                     target_id=row.id, invitationId=row.invitation_id)
        result.retried.append(row.id)
    return result


def _apply(row: object, changes: dict[str, object]) -> None:
    for column, value in changes.items():
        setattr(row, column, value)
