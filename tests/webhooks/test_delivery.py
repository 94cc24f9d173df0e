"""Webhooks delivered to a real receiver on loopback, which checks every signature with the
`standardwebhooks` library (DESIGN 11)."""

from __future__ import annotations

import json

import pytest
from prometheus_client import REGISTRY
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from teamgate.services import webhooks
from teamgate.storage.db import unit_of_work
from tests.webhooks.helpers import deliveries, endpoint, make_due, team_caller


class TestTestEvent:
    async def test_a_test_event_arrives_signed_and_verifies_with_the_secret(self, local, receivers):
        receiver = await receivers()
        caller = await team_caller(local)
        created = await endpoint(caller, receiver.url)
        assert created["secret"].startswith("whsec_")
        assert (await caller.post(f"/webhooks/{created['id']}/test")).status_code == 202
        await local.dispatcher.drain()

        [hit] = receiver.hits
        payload = Webhook(created["secret"]).verify(hit.body, hit.headers)
        assert payload["type"] == "webhook.test" and payload["data"] == {"webhookId": created["id"]}
        assert payload["timestamp"].endswith("Z")
        assert hit.headers["webhook-id"].startswith("evt_")
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "QUJD" * 8).verify(hit.body, hit.headers)
        [record] = await deliveries(caller, created["id"])
        assert record["status"] == "delivered" and record["lastResponseStatus"] == 200
        assert record["eventId"] == hit.headers["webhook-id"] and record["type"] == "webhook.test"


def counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("teamgate_webhooks_total", {"outcome": outcome}) or 0.0


class TestRetries:
    async def test_a_receiver_answering_500_then_200_gets_the_same_webhook_id_twice_and_it_ends_delivered(
            self, local, receivers):
        retried, delivered = counted("retry"), counted("delivered")
        receiver = await receivers(answers=[500])
        caller = await team_caller(local)
        created = await endpoint(caller, receiver.url)
        await caller.post(f"/webhooks/{created['id']}/test")
        await local.dispatcher.drain()
        [record] = await deliveries(caller, created["id"])
        assert record["status"] == "queued" and record["attempts"] == 1 and record["lastResponseStatus"] == 500
        assert record["lastErrorCode"] == "http_status" and record["nextAttemptAt"] is not None

        local.clock.advance(seconds=4)  # the first retry waits 5 s
        await local.dispatcher.drain()
        assert len(receiver.hits) == 1
        local.clock.advance(seconds=1)
        await local.dispatcher.drain()

        first, second = receiver.hits
        assert first.headers["webhook-id"] == second.headers["webhook-id"]
        Webhook(created["secret"]).verify(second.body, second.headers)
        [record] = await deliveries(caller, created["id"])
        assert record["status"] == "delivered" and record["attempts"] == 2 and record["lastResponseStatus"] == 200
        assert (counted("retry") - retried, counted("delivered") - delivered) == (1, 1)

    async def test_a_failed_delivery_retried_by_hand_goes_out_again_with_its_event_id(self, local, receivers):
        receiver = await receivers(answers=[500] * 8)
        caller = await team_caller(local)
        created = await endpoint(caller, receiver.url)
        await caller.post(f"/webhooks/{created['id']}/test")
        for _ in range(8):
            await make_due(local)
            await local.dispatcher.drain()
        [record] = await deliveries(caller, created["id"])
        assert record["status"] == "failed" and record["attempts"] == 8 and len(receiver.hits) == 8

        response = await caller.post(f"/webhooks/{created['id']}/deliveries/{record['id']}/retry")
        assert response.status_code == 202 and response.json()["status"] == "queued"
        await local.dispatcher.drain()
        assert len(receiver.hits) == 9 and len({h.headers["webhook-id"] for h in receiver.hits}) == 1
        assert (await deliveries(caller, created["id"]))[0]["status"] == "delivered"
        again = await caller.post(f"/webhooks/{created['id']}/deliveries/{record['id']}/retry")
        assert again.status_code == 409 and again.json()["code"] == "delivery_not_failed"


class TestRotation:
    async def test_during_the_overlap_either_secret_verifies_and_after_it_only_the_new_one_signs(
            self, local, receivers):
        receiver = await receivers()
        caller = await team_caller(local)
        created = await endpoint(caller, receiver.url)
        rotated = await caller.post(f"/webhooks/{created['id']}/rotate-secret")
        assert rotated.status_code == 200
        new_secret = rotated.json()["secret"]
        assert new_secret != created["secret"]
        await caller.post(f"/webhooks/{created['id']}/test")
        await local.dispatcher.drain()

        [hit] = receiver.hits
        assert len(hit.headers["webhook-signature"].split(" ")) == 2
        Webhook(created["secret"]).verify(hit.body, hit.headers)
        Webhook(new_secret).verify(hit.body, hit.headers)

        local.clock.advance(hours=24, seconds=1)
        await caller.post(f"/webhooks/{created['id']}/test")
        await make_due(local)
        await local.dispatcher.drain()
        later = receiver.hits[1]
        [signature] = later.headers["webhook-signature"].split(" ")
        expected = Webhook(new_secret).sign(later.headers["webhook-id"], local.clock.now(), later.body)
        assert signature == expected


class TestEmit:
    async def test_a_rolled_back_transaction_that_emitted_sends_nothing(self, local, receivers):
        receiver = await receivers()
        caller = await team_caller(local)
        await endpoint(caller, receiver.url)
        with pytest.raises(RuntimeError):
            async with unit_of_work(local.rt.sessions) as db:
                queued = await webhooks.emit(db, local.rt, team_id=caller.team_id, type="membership.created",
                                             data={"userId": "usr_x"})
                assert len(queued) == 1
                raise RuntimeError("the change fails after emitting")
        await local.dispatcher.drain()
        assert receiver.hits == []

    async def test_an_emitted_event_reaches_the_endpoints_that_want_it_and_no_other(self, local, receivers):
        everything, members, invites, off = [await receivers() for _ in range(4)]
        caller = await team_caller(local)
        await endpoint(caller, everything.url)
        await endpoint(caller, members.url, events=["membership.created"])
        await endpoint(caller, invites.url, events=["invitation.accepted"])
        disabled = await endpoint(caller, off.url)
        await local.client().patch(f"/api/v1/webhooks/{disabled['id']}", headers=caller.headers,
                                   json={"enabled": False})
        async with unit_of_work(local.rt.sessions) as db:
            await webhooks.emit(db, local.rt, team_id=caller.team_id, type="membership.created",
                                data={"userId": "usr_x"})
        await local.dispatcher.drain()
        assert [len(r.hits) for r in (everything, members, invites, off)] == [1, 1, 0, 0]
        body = json.loads(everything.hits[0].body)
        assert body["type"] == "membership.created" and body["data"] == {"userId": "usr_x"}
        assert everything.hits[0].headers["webhook-id"] == members.hits[0].headers["webhook-id"]
