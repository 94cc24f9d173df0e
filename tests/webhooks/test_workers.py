"""Real `teamgate worker` processes on one PostgreSQL deliver webhooks as they deliver email: a
worker killed in the middle of a delivery leaves it to another once its lease runs out, with the
same `webhook-id`, and two workers deliver many events exactly once each. The receiver checks
every signature with the Standard Webhooks library, against the real clock."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from teamgate.storage.models import OutboxMessage
from tests.email.test_workers import queue_invitations
from tests.factories import cli_env
from tests.live import Worker, eventually
from tests.webhooks.helpers import endpoint, team_caller

pytestmark = pytest.mark.postgres_only

# short, so the test need not wait the production ten minutes; only where a worker dies: a lease
# that ran out while a slow machine was still sending would let another worker send again
LEASE_SECONDS = 3


def worker_env(settings, **extra: str) -> dict[str, str]:
    """Workers allowed to send to the receivers on loopback."""
    return cli_env(settings, TEAMGATE_WEBHOOK_ALLOW_HTTP="true", TEAMGATE_WEBHOOK_ALLOW_PRIVATE="true",
                   TEAMGATE_LOG_FORMAT="json", **extra)


async def webhook_rows(harness) -> list[OutboxMessage]:
    async with harness.owner() as db:
        return list(await db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook")
                                     .order_by(OutboxMessage.id)))


def verify(secret: str, hit) -> dict:
    """Webhook.verify itself: the signature, and a timestamp within five minutes of now."""
    return Webhook(secret).verify(hit.body, hit.headers)


async def test_a_worker_killed_in_the_middle_of_a_delivery_leaves_it_to_another_after_the_lease(
        local, settings, receivers, tmp_path):
    receiver = await receivers(hold=1)  # the first delivery is held open, never answered
    caller = await team_caller(local)
    secret = (await endpoint(caller, receiver.url))["secret"]
    created = await caller.post("/team-invitations", json={"email": "ann@example.com", "role": "member",
                                                           "sendEmail": False})
    assert created.status_code == 201, created.text
    env = worker_env(settings, TEAMGATE_OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS))

    first = Worker(tmp_path, env)
    try:
        await eventually(lambda: _hits(receiver, 1), what="the first worker's request")
    finally:
        first.kill()  # it has claimed and sent; it dies before recording anything
    [claimed] = await webhook_rows(local)
    assert claimed.status == "sending" and claimed.attempts == 1  # leased to the dead worker
    lease_ends = claimed.next_attempt_at

    second = Worker(tmp_path, env)
    try:
        await eventually(lambda: _status(local, "sent"), what="the second worker's delivery")
        await asyncio.sleep(0.5)  # it polls again: nothing more may be sent
    finally:
        assert second.stop() == 0, second.printed()

    assert len(receiver.hits) == 2
    held, delivered = receiver.hits
    assert held.headers["webhook-id"] == delivered.headers["webhook-id"]  # the same event, for deduplication
    assert delivered.at >= lease_ends  # not before the dead worker's lease ran out
    assert verify(secret, held) == verify(secret, delivered)
    assert verify(secret, delivered)["type"] == "invitation.created"
    assert verify(secret, delivered)["data"]["id"] == created.json()["id"]
    [row] = await webhook_rows(local)
    assert row.status == "sent" and row.attempts == 2 and row.body is None and row.last_response_status == 200


async def test_two_workers_deliver_two_hundred_events_exactly_once_each(local, settings, receivers, tmp_path):
    receiver = await receivers()
    caller = await team_caller(local)
    secret = (await endpoint(caller, receiver.url))["secret"]
    await queue_invitations(local.rt, caller.team_id, 200, send_email=False)  # 200 invitation.created events
    env = worker_env(settings)

    workers = [Worker(tmp_path, env, batch_size=5) for _ in range(2)]
    try:
        await eventually(lambda: _delivered(local, 200), what="200 deliveries")
        await asyncio.sleep(1)  # both workers poll again: nothing more may be sent
    finally:
        codes = [worker.stop() for worker in workers]
    assert codes == [0, 0], [w.printed() for w in workers]

    events = [verify(secret, hit) for hit in receiver.hits]
    ids = [hit.headers["webhook-id"] for hit in receiver.hits]
    assert len(ids) == 200 and len(set(ids)) == 200
    assert {e["type"] for e in events} == {"invitation.created"}
    assert sorted(e["data"]["email"] for e in events) == sorted(f"person{i}@example.com" for i in range(200))
    rows = await webhook_rows(local)
    assert {r.event_id for r in rows} == set(ids)
    assert all(r.status == "sent" and r.attempts == 1 for r in rows)  # none was sent twice
    delivered_by = [sum('"webhook.send.delivered"' in line for line in w.printed().splitlines()) for w in workers]
    assert sum(delivered_by) == 200, delivered_by


async def _hits(receiver, count: int) -> bool:
    return len(receiver.hits) >= count


async def _status(harness, status: str) -> bool:
    return [r.status for r in await webhook_rows(harness)] == [status]


async def _delivered(harness, count: int) -> bool:
    return sum(r.status == "sent" for r in await webhook_rows(harness)) == count
