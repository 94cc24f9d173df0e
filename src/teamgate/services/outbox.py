"""The outbox: putting a message in it, in the caller's transaction, with its body sealed;
dropping the queued messages whose link died; and what operators see and retry (emails and
webhook deliveries, which services/webhooks.py puts in the same outbox).

A message added wakes the process's dispatchers once its transaction commits (not before: they
would not see the row yet), whichever boundary commits it: a request, a CLI command, upkeep."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.domain import delivery
from teamgate.domain import invitation as rules
from teamgate.domain.delivery import OutboxStatus
from teamgate.domain.ids import new_id
from teamgate.email.messages import Rendered
from teamgate.runtime import Runtime
from teamgate.services import audit
from teamgate.services.context import Actor
from teamgate.storage.after_commit import call_after_commit
from teamgate.storage.models import OutboxMessage
from teamgate.storage.repositories import outbox as repo


def enqueue(db: AsyncSession, rt: Runtime, *, recipient: str, message: Rendered, kind: str,
            team_id: str | None = None, invitation_id: str | None = None) -> OutboxMessage:
    """The body holds the link, so it is stored encrypted (and erased once sent)."""
    row = repo.add(db, build(rt, recipient=recipient, message=message, kind=kind, team_id=team_id,
                             invitation_id=invitation_id))
    call_after_commit(db, rt.outbox_added.ring)
    return row


def build(rt: Runtime, *, recipient: str, message: Rendered, kind: str, team_id: str | None = None,
          invitation_id: str | None = None) -> OutboxMessage:
    """The row `enqueue` adds, not yet added (a create writes it with its invitation; whoever
    writes it rings the dispatchers after commit, as `enqueue` does)."""
    now = rt.clock.now()
    body = rt.cipher.encrypt(json.dumps({"text": message.text, "html": message.html}).encode())
    return OutboxMessage(id=new_id("msg"), team_id=team_id, invitation_id=invitation_id, kind=kind,
                         recipient=recipient, subject=message.subject, body=body, status=OutboxStatus.QUEUED,
                         attempts=0, next_attempt_at=now, created_at=now)


async def cancel_queued_for(db: AsyncSession, invitation_id: str) -> None:
    """A dead link must not go out: drop the queued messages of a cancelled or re-sent invitation."""
    await repo.cancel_queued_for(db, invitation_id)


@dataclass(frozen=True)
class RetryResult:
    retried: list[str]
    skipped: dict[str, str]  # message id -> why it was not retried


async def page(db: AsyncSession, *, status: str | None, limit: int = 100,
               channel: delivery.Channel | None = None) -> list[OutboxMessage]:
    """What operators see (`teamgate outbox list`): every team's messages, emails and webhook
    deliveries alike unless `channel` picks one."""
    return await repo.by_status(db, status, limit=limit, channel=channel)


async def retry(db: AsyncSession, rt: Runtime, actor: Actor, *, ids: list[str] | None = None) -> RetryResult:
    """Queue failed messages again (all failed ones when `ids` is None), with a fresh set of attempts.
    A message whose invitation is no longer pending is left alone: its link would not work."""
    now = rt.clock.now()
    rows = await repo.by_ids(db, ids) if ids else await repo.by_status(db, OutboxStatus.FAILED, limit=10_000)
    result = RetryResult(retried=[], skipped=dict.fromkeys(ids or [], "no such message"))
    for row in rows:
        result.skipped.pop(row.id, None)
        if not delivery.may_retry(row.status):
            result.skipped[row.id] = f"it is {row.status}, not {OutboxStatus.FAILED}"
            continue
        invitation = await repo.invitation(db, row.invitation_id) if row.invitation_id else None
        if invitation is not None and (
                rules.effective_status(invitation.status, invitation.expires_at, now) != rules.PENDING):
            result.skipped[row.id] = "its invitation is no longer pending; resend the invitation instead"
            continue
        _apply(row, delivery.retried(now))
        if invitation is not None:
            _apply(invitation, delivery.delivery_retried())
        if delivery.channel(row.kind) is delivery.Channel.WEBHOOK:  # as services/webhooks.retry_delivery records it
            audit.record(db, rt, actor, "webhook.delivery_retried", team_id=row.team_id, target_type="webhook",
                         target_id=row.webhook_endpoint_id, deliveryId=row.id)
        else:
            audit.record(db, rt, actor, "email.retried", team_id=row.team_id, target_type="outbox_message",
                         target_id=row.id, invitationId=row.invitation_id)
        result.retried.append(row.id)
    return result


def _apply(row: object, changes: dict[str, object]) -> None:
    for column, value in changes.items():
        setattr(row, column, value)
