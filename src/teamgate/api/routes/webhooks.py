"""Webhook endpoints and their deliveries (DESIGN 11). Secrets leave only in the answers to
create and rotate-secret."""

from __future__ import annotations

from fastapi import APIRouter

from teamgate.api import present
from teamgate.api import schemas as s
from teamgate.api import webhook_schemas as w
from teamgate.api.routes.common import Pages
from teamgate.domain import webhooks as rules
from teamgate.http.deps import Db, Rt, Team
from teamgate.http.idempotency import Idempotent, IdempotentRoute
from teamgate.services import webhooks
from teamgate.storage.models import OutboxMessage, WebhookEndpoint

router = APIRouter(tags=["webhooks"], route_class=IdempotentRoute)


def endpoint_out(e: WebhookEndpoint) -> w.WebhookOut:
    return w.WebhookOut(id=e.id, url=e.url, description=e.description, events=e.events,
                        enabled=e.disabled_at is None, disabled_at=e.disabled_at, failing_since=e.failing_since,
                        created_at=e.created_at)


def with_secret(issued: webhooks.WithSecret) -> w.WebhookWithSecret:
    return w.WebhookWithSecret(**endpoint_out(issued.endpoint).model_dump(), secret=issued.secret)


def delivery_out(m: OutboxMessage) -> w.DeliveryOut:
    return w.DeliveryOut(id=m.id, event_id=m.event_id, type=m.subject, status=rules.delivery_status(m.status),
                         attempts=m.attempts,
                         last_response_status=m.last_response_status, last_response_excerpt=m.last_response_excerpt,
                         last_error=m.last_error, last_error_code=m.last_error_code,
                         next_attempt_at=rules.next_attempt(m.status, m.next_attempt_at),
                         created_at=m.created_at, delivered_at=m.sent_at)


@router.get("/webhooks", response_model=s.Page[w.WebhookOut])
async def list_webhooks(ctx: Team, db: Db, paging: Pages):
    found = await webhooks.page(db, ctx, limit=paging.limit + 1, after_id=paging.after_id)
    return present.page(found, paging.limit, endpoint_out)


@router.post("/webhooks", response_model=w.WebhookWithSecret, status_code=201)
async def create_webhook(body: w.WebhookCreate, ctx: Team, db: Db, rt: Rt, _key: Idempotent):
    return with_secret(await webhooks.create(db, rt, ctx, url=body.url, events=body.events,
                                             description=body.description))


@router.get("/webhooks/{webhook_id}", response_model=w.WebhookOut)
async def get_webhook(webhook_id: str, ctx: Team, db: Db):
    return endpoint_out(await webhooks.get(db, ctx, webhook_id))


@router.patch("/webhooks/{webhook_id}", response_model=w.WebhookOut)
async def update_webhook(webhook_id: str, body: w.WebhookUpdate, ctx: Team, db: Db, rt: Rt):
    return endpoint_out(await webhooks.update(db, rt, ctx, webhook_id, url=body.url, events=body.events,
                                              description=body.description, enabled=body.enabled))


@router.delete("/webhooks/{webhook_id}", status_code=204)
async def delete_webhook(webhook_id: str, ctx: Team, db: Db, rt: Rt):
    await webhooks.delete(db, rt, ctx, webhook_id)


@router.post("/webhooks/{webhook_id}/rotate-secret", response_model=w.WebhookWithSecret)
async def rotate_secret(webhook_id: str, ctx: Team, db: Db, rt: Rt, _key: Idempotent):
    return with_secret(await webhooks.rotate_secret(db, rt, ctx, webhook_id))


@router.post("/webhooks/{webhook_id}/test", response_model=w.DeliveryOut, status_code=202)
async def test_webhook(webhook_id: str, ctx: Team, db: Db, rt: Rt, _key: Idempotent):
    return delivery_out(await webhooks.send_test(db, rt, ctx, webhook_id))


@router.get("/webhooks/{webhook_id}/deliveries", response_model=s.Page[w.DeliveryOut])
async def list_deliveries(webhook_id: str, ctx: Team, db: Db, paging: Pages):
    found = await webhooks.deliveries(db, ctx, webhook_id, limit=paging.limit + 1, after_id=paging.after_id)
    return present.page(found, paging.limit, delivery_out)


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", response_model=w.DeliveryOut,
             status_code=202)
async def retry_delivery(webhook_id: str, delivery_id: str, ctx: Team, db: Db, rt: Rt, _key: Idempotent):
    return delivery_out(await webhooks.retry_delivery(db, rt, ctx, webhook_id, delivery_id))
