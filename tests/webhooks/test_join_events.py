"""Every use of a join link, every decision on a join request and every request for a renewed
invitation reaches a real receiver as a DESIGN 11 event, signed, with the object as the API shows
it and never a token: `membership.created`, `join_request.created`, `.updated`, `.approved`,
`.denied`, `invitation.renewal_requested`."""

from __future__ import annotations

from tests.join_helpers import newcomer, verify_address
from tests.webhooks.helpers import Caller, endpoint
from tests.webhooks.test_events import events, no_token_in, one, started, types

LINKS, REQUESTS = "/join-links", "/join-requests"


async def link(caller: Caller, **fields) -> dict:
    response = await caller.post(LINKS, json={"role": "member", **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def requests(caller: Caller, status: str = "all") -> list[dict]:
    return (await caller.get(f"{REQUESTS}?status={status}")).json()["data"]


async def test_a_direct_join_emits_membership_created_with_the_person_as_actor(local, receivers):
    caller, receiver, secret = await started(local, receivers)
    made = await link(caller)
    used = await local.client().post("/api/v1/join-links/accept", json={"token": made["token"],
                                                                         **newcomer("ann@example.com")})
    assert used.status_code == 200, used.text

    got = await events(local, receiver, secret)
    assert types(got) == ["membership.created"]
    [member] = [m for m in (await caller.get("/team-members")).json()["data"] if m["email"] == "ann@example.com"]
    assert one(got, "membership.created")["data"] == member and member["emailVerified"] is False
    assert one(got, "membership.created")["actor"] == {"type": "user", "id": member["userId"]}
    no_token_in(receiver, made["token"])


async def test_a_request_emits_created_then_approved_with_the_membership(local, receivers):
    caller, receiver, secret = await started(local, receivers)
    made = await link(caller, requiresApproval=True)
    used = await local.client().post("/api/v1/join-links/accept", json={"token": made["token"],
                                                                         **newcomer("ann@example.com")})
    request_id = used.json()["joinRequest"]["id"]
    approved = await caller.post(f"{REQUESTS}/{request_id}/approve")
    assert approved.status_code == 200, approved.text

    got = await events(local, receiver, secret)
    assert types(got) == ["join_request.approved", "join_request.created", "membership.created"]
    assert one(got, "join_request.created")["data"] == {**approved.json(), "status": "pending", "decidedAt": None,
                                                        "decidedBy": None}
    assert one(got, "join_request.created")["actor"] == {"type": "user", "id": used.json()["user"]["id"]}
    assert one(got, "join_request.approved")["data"] == approved.json()
    assert one(got, "join_request.approved")["actor"]["type"] == "api_key"
    assert one(got, "membership.created")["data"]["email"] == "ann@example.com"
    no_token_in(receiver, made["token"])


async def test_a_verified_address_moves_a_request_into_the_queue_and_a_denial_is_sent(local, receivers):
    caller, receiver, secret = await started(local, receivers)
    made = await link(caller, requiresApproval=True, allowedDomains=["example.com"])
    person = local.client()
    used = (await person.post("/api/v1/join-links/accept", json={"token": made["token"],
                                                                  **newcomer("ann@example.com")})).json()
    assert (await verify_address(local, person, "ann@example.com", used["csrfToken"])).status_code == 200
    denied = await caller.post(f"{REQUESTS}/{used['joinRequest']['id']}/deny")
    assert denied.status_code == 200, denied.text

    got = await events(local, receiver, secret)
    assert types(got) == ["join_request.created", "join_request.denied", "join_request.updated"]
    assert one(got, "join_request.created")["data"]["status"] == "unverified"
    assert one(got, "join_request.updated")["data"]["status"] == "pending"
    assert one(got, "join_request.denied")["data"] == denied.json()


async def test_asking_for_a_new_invitation_emits_renewal_requested(local, receivers):
    local.clock.advance(days=-2)
    receiver = await receivers()
    caller, _, _ = await started(local, receivers)
    secret = (await endpoint(caller, receiver.url, events=["invitation.renewal_requested"]))["secret"]
    created = await caller.post("/team-invitations", json={"email": "ann@example.com", "role": "member",
                                                           "expiresInDays": 1, "sendEmail": False})
    local.clock.advance(days=2)
    asked = await local.client().post("/api/v1/team-invitations/request-renewal",
                                      json={"token": created.json()["token"]})
    assert asked.status_code == 202, asked.text

    got = await events(local, receiver, secret)
    assert types(got) == ["invitation.renewal_requested"]
    event = one(got, "invitation.renewal_requested")
    assert event["data"]["id"] == created.json()["id"] and event["data"]["status"] == "expired"
    assert event["actor"] == {"type": "invitee", "id": None}
    no_token_in(receiver, created.json()["token"])
