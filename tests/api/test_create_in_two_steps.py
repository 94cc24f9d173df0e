"""A create gathers its facts in one statement and writes the invitation with its email, audit
event and webhook deliveries in one (storage/repositories/invitation_create.py): what it writes
is what the services build, nothing of it when the invitation loses its race, and the seat limit
still counts concurrent creates one after another."""

import asyncio

from sqlalchemy import select

from teamgate.storage.models import AuditEvent, Invitation, OutboxMessage
from tests.factories import count_rows, invite, key_headers, make_api_key, make_team, problem, sign_in
from tests.webhooks.helpers import Caller, endpoint

URL = "/api/v1/team-invitations"
HOOK = "https://hooks.example.com/teamgate"


async def caller_with_endpoint(harness, **team) -> tuple[Caller, str, dict]:
    made = await make_team(harness.rt, **team)
    key = await make_api_key(harness.rt, made.id)
    caller = Caller(made.id, harness.client(), key_headers(key))
    hook = await endpoint(caller, HOOK, events=["invitation.created", "invitation.expired"])
    return caller, key, hook


async def test_the_rows_written_with_the_invitation_are_those_the_services_build(harness):
    caller, key, hook = await caller_with_endpoint(harness)
    created = await invite(caller.client, key, "Ann@example.com")

    async with harness.owner() as db:
        [event] = list(await db.scalars(select(AuditEvent).where(AuditEvent.target_id == created["id"])))
        messages = list(await db.scalars(select(OutboxMessage).where(OutboxMessage.team_id == caller.team_id)
                                         .order_by(OutboxMessage.id)))
    assert (event.team_id, event.actor_type, event.target_type) == (caller.team_id, "api_key", "invitation")
    assert event.data == {"email": "Ann@example.com", "role": "member", "taskIds": [], "sendEmail": True}
    email, delivery = messages
    assert (email.kind, email.recipient, email.invitation_id, email.status) == (
        "invitation", "Ann@example.com", created["id"], "queued")
    assert email.body and email.created_at == event.created_at == email.next_attempt_at
    assert (delivery.kind, delivery.recipient, delivery.subject, delivery.webhook_endpoint_id, delivery.status) == (
        "webhook", hook["id"], "invitation.created", hook["id"], "queued")
    assert delivery.event_id and delivery.invitation_id is None and delivery.body


async def test_a_create_that_loses_its_race_writes_no_email_audit_event_or_delivery(harness):
    caller, key, _ = await caller_with_endpoint(harness)
    for n in range(3):
        email = f"raced{n}@example.com"
        responses = await asyncio.gather(*(caller.client.post(URL, headers=key_headers(key),
                                                              json={"email": email, "role": "member"})
                                           for _ in range(2)))
        assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
        [won] = [r.json() for r in responses if r.status_code == 201]
        assert problem(next(r for r in responses if r.status_code == 409), 409,
                       "invitation_pending")["invitationId"] == won["id"]
        assert await count_rows(harness, Invitation, Invitation.email_normalized == email) == 1
        assert await count_rows(harness, OutboxMessage, OutboxMessage.recipient == email) == 1
    assert await count_rows(harness, AuditEvent, AuditEvent.action == "invitation.created") == 3
    assert await count_rows(harness, OutboxMessage, OutboxMessage.subject == "invitation.created") == 3


async def test_an_overdue_pending_invitation_is_expired_with_its_event_before_the_new_one_is_written(harness):
    caller, key, _ = await caller_with_endpoint(harness)
    old = await invite(caller.client, key, "late@example.com", expiresInDays=1)
    harness.clock.advance(days=2)
    new = await invite(caller.client, key, "late@example.com")
    assert new["id"] != old["id"]
    assert await count_rows(harness, Invitation, Invitation.id == old["id"], Invitation.status == "expired") == 1
    assert await count_rows(harness, AuditEvent, AuditEvent.action == "invitation.expired",
                            AuditEvent.target_id == old["id"]) == 1
    assert await count_rows(harness, OutboxMessage, OutboxMessage.subject == "invitation.expired") == 1
    assert await count_rows(harness, OutboxMessage, OutboxMessage.subject == "invitation.created") == 2


async def test_concurrent_creates_take_no_more_seats_than_the_team_has(harness):
    team = await make_team(harness.rt, seat_limit=3)  # its owner holds one seat: two are free
    key = await make_api_key(harness.rt, team.id)
    client = harness.client()
    responses = await asyncio.gather(*(client.post(URL, headers=key_headers(key),
                                                   json={"email": f"seat{n}@example.com", "role": "member"})
                                       for n in range(5)))
    assert sorted(r.status_code for r in responses) == [201, 201, 409, 409, 409], [r.text for r in responses]
    for refused in (r for r in responses if r.status_code == 409):
        problem(refused, 409, "seat_limit_reached")
    assert await count_rows(harness, Invitation, Invitation.team_id == team.id) == 2


async def test_a_member_of_another_team_is_invited_and_a_member_of_this_one_is_not(harness):
    ours, theirs = await make_team(harness.rt, "us@example.com"), await make_team(harness.rt, "them@example.com",
                                                                                   name="Them")
    key = await make_api_key(harness.rt, ours.id)
    client = harness.client()
    await invite(client, key, "them@example.com")  # the facts are read within this team's walls
    problem(await client.post(URL, headers=key_headers(key), json={"email": "us@example.com", "role": "member"}),
            409, "already_member")
    assert theirs.id != ours.id


async def test_a_key_made_by_a_person_invites_in_that_persons_name(harness):
    team = await make_team(harness.rt)
    owner = harness.client()
    csrf = await sign_in(owner, team.owner)
    made = await owner.post("/api/v1/api-keys", headers=csrf, json={"name": "backend", "role": "admin"})
    assert made.status_code == 201, made.text
    created = await invite(harness.client(), made.json()["key"], "named@example.com")
    assert created["invitedBy"]["type"] == "api_key" and created["invitedBy"]["name"] == "Olivia Owner"
