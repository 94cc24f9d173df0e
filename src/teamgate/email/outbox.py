"""Putting a message in the outbox, in the caller's transaction, with its body sealed."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.domain import delivery
from teamgate.domain.delivery import OutboxStatus
from teamgate.domain.ids import new_id
from teamgate.email.messages import Rendered
from teamgate.runtime import Runtime
from teamgate.storage.models import OutboxMessage

WAKE_DISPATCHER = "teamgate.outbox.added"


@dataclass(frozen=True)
class Outgoing:
    id: str
    recipient: str
    subject: str
    text: str
    html: str


def enqueue(db: AsyncSession, rt: Runtime, *, recipient: str, message: Rendered, kind: str,
            team_id: str | None = None, invitation_id: str | None = None) -> OutboxMessage:
    """The body holds the link, so it is stored encrypted (and erased once sent)."""
    now = rt.clock.now()
    body = rt.cipher.encrypt(json.dumps({"text": message.text, "html": message.html}).encode())
    row = OutboxMessage(id=new_id("msg"), team_id=team_id, invitation_id=invitation_id, kind=kind, recipient=recipient,
                        subject=message.subject, body=body, status=OutboxStatus.QUEUED, attempts=0, next_attempt_at=now,
                        created_at=now)
    db.add(row)
    db.info[WAKE_DISPATCHER] = True
    return row


async def cancel_queued_for(db: AsyncSession, invitation_id: str) -> None:
    """A dead link must not go out: drop the queued messages of a cancelled or re-sent invitation."""
    await db.execute(update(OutboxMessage)
                     .where(OutboxMessage.invitation_id == invitation_id, OutboxMessage.status == delivery.CANCELLABLE)
                     .values(**delivery.cancelled()).execution_options(synchronize_session=False))


def open_body(rt: Runtime, row) -> Outgoing:
    """Decrypt a claimed row's body (anything with id, recipient, subject and body)."""
    body = json.loads(rt.cipher.decrypt(row.body or b""))
    return Outgoing(id=row.id, recipient=row.recipient, subject=row.subject, text=body["text"], html=body["html"])
