"""Webhook endpoints (DESIGN section 11): managing them, and `emit`, which queues an event for
every enabled endpoint of a team that wants it, in the caller's transaction: a change that rolls
back sends nothing, one that commits is sent by the dispatchers (services/webhook_delivery.py).

Every function here may raise Forbidden (no `webhooks:manage`), NotFound (not this team's
endpoint or delivery) and ValidationFailed (URL or events); retry_delivery DeliveryNotFailed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain import delivery
from teamgate.domain import webhooks as rules
from teamgate.domain.delivery import OutboxStatus
from teamgate.domain.ids import is_id, new_id
from teamgate.domain.roles import WEBHOOKS_MANAGE
from teamgate.runtime import Runtime
from teamgate.services import audit, payloads
from teamgate.services.context import Actor, TeamContext
from teamgate.storage.after_commit import call_after_commit
from teamgate.storage.models import OutboxMessage, WebhookEndpoint
from teamgate.storage.repositories import webhooks as repo
from teamgate.storage.scope import act_for
from teamgate.webhooks.signing import new_secret

KIND = delivery.WEBHOOK_KIND  # the outbox message kind


@dataclass(frozen=True)
class WithSecret:
    """An endpoint with its new secret, shown once (create, rotate-secret)."""

    endpoint: WebhookEndpoint
    secret: str


def _check_url(rt: Runtime, url: str) -> str:
    return rules.check_url(url, allow_http=rt.settings.webhook_allow_http)


async def create(db: AsyncSession, rt: Runtime, ctx: TeamContext, *, url: str, events: list[str] | None = None,
                 description: str = "") -> WithSecret:
    ctx.require(WEBHOOKS_MANAGE)
    secret = new_secret()
    endpoint = repo.add(db, WebhookEndpoint(
        id=new_id("whk"), team_id=ctx.team_id, url=_check_url(rt, url), description=description,
        events=rules.check_events(events or []), secret=rt.cipher.encrypt(secret.encode()),
        created_at=rt.clock.now()))
    audit.record(db, rt, ctx.actor, "webhook.created", team_id=ctx.team_id, target_type="webhook",
                 target_id=endpoint.id, url=endpoint.url, events=endpoint.events)
    await db.flush()
    return WithSecret(endpoint, secret)


async def page(db: AsyncSession, ctx: TeamContext, *, limit: int, after_id: str | None) -> list[WebhookEndpoint]:
    ctx.require(WEBHOOKS_MANAGE)
    return await repo.page(db, ctx.team_id, limit=limit, after_id=after_id)


async def get(db: AsyncSession, ctx: TeamContext, endpoint_id: str) -> WebhookEndpoint:
    ctx.require(WEBHOOKS_MANAGE)
    endpoint = await repo.in_team(db, ctx.team_id, endpoint_id) if is_id(endpoint_id) else None
    if endpoint is None:
        raise errors.NotFound("No such webhook endpoint in this team.")
    return endpoint


async def update(db: AsyncSession, rt: Runtime, ctx: TeamContext, endpoint_id: str, *, url: str | None = None,
                 events: list[str] | None = None, description: str | None = None,
                 enabled: bool | None = None) -> WebhookEndpoint:
    endpoint = await get(db, ctx, endpoint_id)
    changes: dict[str, Any] = {}
    if url is not None:
        endpoint.url = changes["url"] = _check_url(rt, url)
    if events is not None:
        endpoint.events = changes["events"] = rules.check_events(events)
    if description is not None:
        endpoint.description = changes["description"] = description
    if enabled is not None and enabled != (endpoint.disabled_at is None):
        changes["enabled"] = enabled
        # enabled again: its failures start over, or it would be disabled again at the next one
        endpoint.disabled_at, endpoint.failing_since = (None, None) if enabled else (rt.clock.now(), None)
        repo.forget(db)
    audit.record(db, rt, ctx.actor, "webhook.updated", team_id=ctx.team_id, target_type="webhook",
                 target_id=endpoint.id, **changes)
    await db.flush()
    return endpoint


async def delete(db: AsyncSession, rt: Runtime, ctx: TeamContext, endpoint_id: str) -> None:
    """Its deliveries go with it, the queued ones included."""
    endpoint = await get(db, ctx, endpoint_id)
    await repo.remove(db, endpoint)
    audit.record(db, rt, ctx.actor, "webhook.deleted", team_id=ctx.team_id, target_type="webhook",
                 target_id=endpoint_id, url=endpoint.url)
    await db.flush()


async def rotate_secret(db: AsyncSession, rt: Runtime, ctx: TeamContext, endpoint_id: str) -> WithSecret:
    """A new secret; the current one keeps signing beside it for SECRET_OVERLAP (the receiver's
    switch-over window). A rotation during an overlap ends the older one's overlap early."""
    endpoint = await get(db, ctx, endpoint_id)
    secret = new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = rt.clock.now() + rules.SECRET_OVERLAP
    endpoint.secret = rt.cipher.encrypt(secret.encode())
    audit.record(db, rt, ctx.actor, "webhook.secret_rotated", team_id=ctx.team_id, target_type="webhook",
                 target_id=endpoint.id)
    await db.flush()
    return WithSecret(endpoint, secret)


async def send_test(db: AsyncSession, rt: Runtime, ctx: TeamContext, endpoint_id: str) -> OutboxMessage:
    """Queue a `webhook.test` event for this endpoint alone. A disabled endpoint's test fails at once
    (the dispatcher sends nothing to a disabled endpoint): enable it first."""
    endpoint = await get(db, ctx, endpoint_id)
    message = _enqueue(db, rt, endpoint, event_id=new_id("evt"), event_type=rules.TEST_EVENT,
                       body=_body(rt, rules.TEST_EVENT, {"webhookId": endpoint.id}, ctx.actor))
    audit.record(db, rt, ctx.actor, "webhook.tested", team_id=ctx.team_id, target_type="webhook",
                 target_id=endpoint.id, deliveryId=message.id)
    await db.flush()
    return message


async def deliveries(db: AsyncSession, ctx: TeamContext, endpoint_id: str, *, limit: int,
                     after_id: str | None) -> list[OutboxMessage]:
    endpoint = await get(db, ctx, endpoint_id)
    return await repo.deliveries(db, ctx.team_id, endpoint.id, limit=limit, after_id=after_id)


async def retry_delivery(db: AsyncSession, rt: Runtime, ctx: TeamContext, endpoint_id: str,
                         delivery_id: str) -> OutboxMessage:
    """A failed delivery is queued again, due now, with a fresh set of attempts and the same event id."""
    endpoint = await get(db, ctx, endpoint_id)
    message = await repo.delivery(db, ctx.team_id, endpoint.id, delivery_id) if is_id(delivery_id) else None
    if message is None:
        raise errors.NotFound("No such delivery of this webhook endpoint.")
    if not delivery.may_retry(message.status):
        raise errors.DeliveryNotFailed(f"This delivery is {message.status}; only a failed one can be retried.")
    for column, value in delivery.retried(rt.clock.now()).items():
        setattr(message, column, value)
    audit.record(db, rt, ctx.actor, "webhook.delivery_retried", team_id=ctx.team_id, target_type="webhook",
                 target_id=endpoint.id, deliveryId=message.id)
    call_after_commit(db, rt.outbox_added.ring)
    await db.flush()
    return message


async def wanted(db: AsyncSession, team_id: str, type: str) -> bool:
    """Whether an enabled endpoint of the team wants events of `type` (emit would queue any)."""
    await act_for(db, team_id=team_id)
    return any(rules.wants(e.events, type) for e in await repo.enabled(db, team_id))


async def emit(db: AsyncSession, rt: Runtime, *, team_id: str, type: str, data: dict[str, Any],
               actor: Actor | None = None) -> list[OutboxMessage]:
    """Queue event `type` (one of domain/webhooks.EVENT_TYPES) with `data` (the object as the API
    shows it) for every enabled endpoint of the team that wants it, in the caller's transaction.
    All endpoints share one event id; each delivery is its own outbox message."""
    if type not in rules.EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    await act_for(db, team_id=team_id)
    messages = event_messages(rt, await repo.enabled(db, team_id), type=type, data=data, actor=actor)
    db.add_all(messages)
    if messages:
        call_after_commit(db, rt.outbox_added.ring)  # the dispatchers of this process send it at once
    return messages


def event_messages(rt: Runtime, endpoints: list[WebhookEndpoint], *, type: str, data: dict[str, Any],
                   actor: Actor | None = None) -> list[OutboxMessage]:
    """The deliveries `emit` queues, built from the team's enabled endpoints and not yet added (a
    create writes them with its invitation; whoever writes them rings the dispatchers after commit)."""
    if type not in rules.EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    wanting = [e for e in endpoints if e.disabled_at is None and rules.wants(e.events, type)]
    if not wanting:
        return []
    body, event_id = _body(rt, type, data, actor), new_id("evt")
    return [_message(rt, endpoint, event_id=event_id, event_type=type, body=body) for endpoint in wanting]


def _body(rt: Runtime, event_type: str, data: dict[str, Any], actor: Actor | None) -> bytes:
    now = rt.clock.now().replace(microsecond=0, tzinfo=None)
    payload: dict[str, Any] = {"type": event_type, "timestamp": now.isoformat() + "Z", "data": data}
    if actor is not None and actor.kind != "system":
        payload["actor"] = payloads.actor(actor.kind, actor.id, user=actor.user, server_key=actor.server_key)
    return json.dumps(payload, separators=(",", ":")).encode()


def _enqueue(db: AsyncSession, rt: Runtime, endpoint: WebhookEndpoint, *, event_id: str, event_type: str,
             body: bytes) -> OutboxMessage:
    message = _message(rt, endpoint, event_id=event_id, event_type=event_type, body=body)
    db.add(message)
    call_after_commit(db, rt.outbox_added.ring)  # the dispatchers of this process send it at once
    return message


def _message(rt: Runtime, endpoint: WebhookEndpoint, *, event_id: str, event_type: str, body: bytes) -> OutboxMessage:
    now = rt.clock.now()
    return OutboxMessage(id=new_id("msg"), team_id=endpoint.team_id, kind=KIND, recipient=endpoint.id,
                         subject=event_type, body=rt.cipher.encrypt(body), status=OutboxStatus.QUEUED,
                         attempts=0, next_attempt_at=now, created_at=now, webhook_endpoint_id=endpoint.id,
                         event_id=event_id)
