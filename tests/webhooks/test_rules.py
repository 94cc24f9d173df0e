"""The webhook rules without HTTP: the retry schedule, and an endpoint disabled after five days
of continuous failure (a frozen clock; the endpoint's address is refused before any connection)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from teamgate.domain import webhooks as rules
from teamgate.email.senders import MemorySender
from teamgate.services import webhooks
from teamgate.services.dispatcher import Dispatcher
from teamgate.services.webhook_delivery import outcome
from teamgate.storage.db import unit_of_work
from teamgate.webhooks.client import Result
from tests.webhooks.helpers import deliveries, endpoint, make_due, team_caller

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FAILED = Result(500, "http_status", "The endpoint answered with HTTP 500.")


class TestRetrySchedule:
    def test_the_waits_are_5s_5min_30min_2h_5h_10h_10h_then_failed(self):
        waits = [outcome(attempt, FAILED, NOW) for attempt in range(1, 9)]
        assert [w["next_attempt_at"] - NOW for w in waits[:7]] == [
            timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
            timedelta(hours=5), timedelta(hours=10), timedelta(hours=10)]
        assert [w["status"] for w in waits] == ["queued"] * 7 + ["failed"]
        assert rules.MAX_ATTEMPTS == 8

    def test_a_2xx_is_delivered_and_its_body_erased(self):
        done = outcome(3, Result(204, None, None), NOW)
        assert done["status"] == "sent" and done["body"] is None and done["last_response_status"] == 204

    def test_a_disabled_endpoints_delivery_fails_at_once(self):
        assert outcome(1, Result(None, "endpoint_disabled", "off"), NOW)["status"] == "failed"


class TestDisabling:
    def test_five_days_of_continuous_failure_disable_an_endpoint_and_less_does_not(self):
        assert not rules.should_disable(None, NOW)
        assert not rules.should_disable(NOW, NOW + timedelta(days=5) - timedelta(seconds=1))
        assert rules.should_disable(NOW, NOW + timedelta(days=5))

    async def test_an_endpoint_failing_for_five_days_is_disabled_with_an_audit_event(self, harness_with):
        h = await harness_with(webhook_allow_http=True)  # private addresses refused: nothing is ever connected
        caller = await team_caller(h)
        created = await endpoint(caller, "http://10.0.0.1/hook")

        async def event_fails() -> None:
            async with unit_of_work(h.rt.sessions) as db:
                await webhooks.emit(db, h.rt, team_id=caller.team_id, type="membership.created", data={})
            await make_due(h)
            await h.dispatcher.drain()

        await event_fails()
        started = (await caller.get(f"/webhooks/{created['id']}")).json()
        assert started["enabled"] and started["failingSince"] is not None
        h.clock.advance(days=4, hours=23)
        await event_fails()
        assert (await caller.get(f"/webhooks/{created['id']}")).json()["enabled"]
        h.clock.advance(hours=1)
        await event_fails()

        after = (await caller.get(f"/webhooks/{created['id']}")).json()
        assert not after["enabled"] and after["disabledAt"] is not None
        audit = [e for e in (await caller.get("/audit-events")).json()["data"] if e["action"] == "webhook.disabled"]
        assert len(audit) == 1 and audit[0]["actor"]["type"] == "system"
        async with unit_of_work(h.rt.sessions) as db:  # a disabled endpoint gets no new events
            assert await webhooks.emit(db, h.rt, team_id=caller.team_id, type="membership.created", data={}) == []

    async def test_enabling_again_starts_the_failures_over(self, harness):
        caller = await team_caller(harness)
        created = await endpoint(caller, "https://hooks.example.com/in")
        path = f"/api/v1/webhooks/{created['id']}"
        await caller.client.patch(path, headers=caller.headers, json={"enabled": False})
        again = (await caller.client.patch(path, headers=caller.headers, json={"enabled": True})).json()
        assert again["enabled"] and again["failingSince"] is None and again["disabledAt"] is None


class TestManyDispatchers:
    @pytest.mark.postgres_only
    async def test_two_dispatchers_deliver_each_of_many_events_exactly_once(self, local, receivers):
        receiver = await receivers()
        caller = await team_caller(local)
        created = await endpoint(caller, receiver.url)
        events = 40
        async with unit_of_work(local.rt.sessions) as db:
            for n in range(events):
                await webhooks.emit(db, local.rt, team_id=caller.team_id, type="membership.created", data={"n": n})
        first, second = (Dispatcher(local.rt, MemorySender(), batch_size=5) for _ in range(2))
        try:
            await asyncio.gather(first.drain(), second.drain())
        finally:
            await first.stop()
            await second.stop()
        ids = [hit.headers["webhook-id"] for hit in receiver.hits]
        assert len(ids) == events and len(set(ids)) == events
        assert {d["status"] for d in await deliveries(caller, created["id"])} == {"delivered"}


class TestWhatPeopleAreShown:
    def test_an_endpoint_is_enabled_failing_disabled_by_hand_or_disabled_after_failures(self):
        later = NOW + rules.DISABLE_AFTER
        assert rules.endpoint_state(None, None) == rules.EndpointState.ENABLED
        assert rules.endpoint_state(None, NOW) == rules.EndpointState.FAILING
        assert rules.endpoint_state(later, None) == rules.EndpointState.DISABLED
        assert rules.endpoint_state(later, NOW) == rules.EndpointState.DISABLED_AFTER_FAILURES

    def test_a_sent_delivery_is_delivered_and_only_a_queued_one_has_a_next_attempt(self):
        assert [rules.delivery_status(s) for s in ("queued", "sending", "sent", "failed")] == [
            "queued", "sending", "delivered", "failed"]
        assert rules.next_attempt("queued", NOW) == NOW
        assert [rules.next_attempt(s, NOW) for s in ("sending", "sent", "failed")] == [None, None, None]

    def test_the_previous_secret_signs_until_its_overlap_ends(self):
        ends = NOW + rules.SECRET_OVERLAP
        assert not rules.previous_secret_live(None, NOW)
        assert rules.previous_secret_live(ends, ends - timedelta(seconds=1))
        assert not rules.previous_secret_live(ends, ends)
