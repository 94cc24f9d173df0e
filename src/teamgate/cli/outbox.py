"""`teamgate outbox`: look at and retry outgoing email and webhook deliveries."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from teamgate.cli.common import JsonFlag, fail, in_transaction
from teamgate.domain.delivery import Channel, OutboxStatus
from teamgate.domain.delivery import channel as channel_of
from teamgate.services import outbox
from teamgate.services.context import Actor

*_OTHERS, _LAST = OutboxStatus
OUTBOX_STATUSES = f"{', '.join(_OTHERS)} or {_LAST}."  # queued, sending, sent, failed or cancelled.


def outbox_list(status: Annotated[str | None, typer.Option(help=OUTBOX_STATUSES)] = OutboxStatus.FAILED.value,
                kind: Annotated[str, typer.Option(help="email, webhook or all.")] = "all",
                limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100, as_json: JsonFlag = False):
    """List outbox messages (by default the failed ones), newest first: emails, and webhook
    deliveries (their recipient is the endpoint's id, their subject the event type)."""
    if kind not in (*Channel, "all"):
        fail(f"--kind must be email, webhook or all, not {kind!r}", 2)
    channel = Channel(kind) if kind != "all" else None
    rows = in_transaction(lambda db, rt: outbox.page(db, status=status if status != "all" else None, limit=limit,
                                                     channel=channel))
    data = [{"id": r.id, "kind": channel_of(r.kind), "status": r.status, "recipient": r.recipient,
             "subject": r.subject, "attempts": r.attempts, "lastError": r.last_error,
             "lastErrorCode": r.last_error_code, "invitationId": r.invitation_id, "eventId": r.event_id,
             "createdAt": r.created_at.isoformat()}
            for r in rows]
    if as_json:
        typer.echo(json.dumps({"data": data}))
        return
    for d in data:
        what = f"{d['recipient']}  {d['subject']}" if d["kind"] == Channel.WEBHOOK else d["recipient"]
        typer.echo(f"{d['id']}  {d['kind']:<7} {d['status']:<9} {d['attempts']:>2}x  {what}  {d['lastError'] or ''}")
    if not data:
        typer.echo(f"no {status or ''} messages".replace("  ", " "), err=True)


def outbox_retry(ids: Annotated[list[str] | None, typer.Argument(
                     help="Message ids (default: every failed one).")] = None,
                 as_json: JsonFlag = False):
    """Queue failed messages again with a fresh set of attempts; a running dispatcher sends them."""
    result = in_transaction(lambda db, rt: outbox.retry(db, rt, Actor.system(), ids=ids or None))
    if as_json:
        typer.echo(json.dumps({"retried": result.retried, "skipped": result.skipped}))
        return
    typer.echo(f"queued again: {len(result.retried)}")
    for message_id, why in result.skipped.items():
        typer.echo(f"skipped {message_id}: {why}", err=True)
