"""`teamgate webhooks`: a team's webhook endpoints, as the operator."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from teamgate.cli.common import JsonFlag, emit, in_transaction, operator_in
from teamgate.services import webhooks


def webhooks_create(team: Annotated[str, typer.Option(help="Team id.")], url: Annotated[str, typer.Option()],
                    event: Annotated[list[str] | None, typer.Option(
                        "--event", help="Event type to send (repeatable; default: all).")] = None,
                    description: Annotated[str, typer.Option()] = "", as_json: JsonFlag = False):
    """Add a webhook endpoint; its signing secret is shown once."""

    async def work(db, rt):
        return await webhooks.create(db, rt, await operator_in(db, rt, team), url=url, events=event or [],
                                     description=description)

    issued = in_transaction(work)
    emit(as_json, {"id": issued.endpoint.id, "secret": issued.secret},
         f"created webhook {issued.endpoint.id}; its signing secret is shown only now:\n{issued.secret}")


def webhooks_list(team: Annotated[str, typer.Option(help="Team id.")], as_json: JsonFlag = False):
    """List a team's webhook endpoints (never their secrets), newest first."""

    async def work(db, rt):
        return await webhooks.page(db, await operator_in(db, rt, team), limit=1000, after_id=None)

    data = [{"id": e.id, "url": e.url, "events": e.events, "enabled": e.disabled_at is None,
             "description": e.description} for e in in_transaction(work)]
    if as_json:
        typer.echo(json.dumps({"data": data}))
        return
    for d in data:
        typer.echo(f"{d['id']}  {'enabled ' if d['enabled'] else 'disabled'}  {d['url']}  "
                   f"{','.join(d['events']) or 'all events'}")


def webhooks_delete(webhook_id: Annotated[str, typer.Argument(help="Webhook id.")],
                    team: Annotated[str, typer.Option(help="Team id.")], as_json: JsonFlag = False):
    """Delete a webhook endpoint and its deliveries."""

    async def work(db, rt):
        await webhooks.delete(db, rt, await operator_in(db, rt, team), webhook_id)

    in_transaction(work)
    emit(as_json, {"id": webhook_id, "deleted": True}, f"deleted webhook {webhook_id}")
