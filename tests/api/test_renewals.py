"""Asking for a new link once an invitation has expired (DESIGN 14), both engines: the inviter is
told by email (or the team's owner, when the inviter can no longer invite), the request is
audited, limited per invitation, and refused for an invitation that still works or has closed."""

from __future__ import annotations

from sqlalchemy import select

from teamgate.storage.models import AuditEvent
from tests.factories import NEW_PERSON, add_member, invite, make_api_key, make_team, problem, sign_in

URL = "/api/v1/team-invitations"


async def ask(client, token: str):
    return await client.post(f"{URL}/request-renewal", json={"token": token})


async def invited_by_a_person(harness):
    """Ada (an admin, signed in) invites Ann for a day, two days ago; returns the team, Ada and the
    invitation. (The outbox sends what is due by the database's clock too: the test's clock ends at now.)"""
    harness.clock.advance(days=-2)
    team = await make_team(harness.rt)
    ada = await add_member(harness.rt, team.id, "ada@example.com", role="admin", first_name="Ada",
                           last_name="Admin")
    client = harness.client()
    created = await client.post(URL, headers=await sign_in(client, ada),
                                json={"email": "ann@example.com", "role": "member", "expiresInDays": 1})
    assert created.status_code == 201, created.text
    await harness.send_mail()
    return team, ada, created.json()


async def test_the_inviter_is_told_by_email_and_nothing_else_changes(harness):
    team, ada, created = await invited_by_a_person(harness)
    harness.clock.advance(days=2)

    response = await ask(harness.client(), created["token"])

    assert response.status_code == 202, response.text
    assert response.json()["told"] == "Ada Admin"
    [mail] = await harness.send_mail()
    assert mail.recipient == "ada@example.com"
    assert mail.subject == "ann@example.com asked for a new invitation to Acme"
    assert "http://127.0.0.1:8000/console?show=expired" in mail.text
    assert created["token"] not in mail.text
    async with harness.owner() as db:
        event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "invitation.renewal_requested"))
    assert (event.team_id, event.target_id, event.actor_type, event.data["told"]) == (
        team.id, created["id"], "invitee", ada.id)
    validated = await harness.client().get(f"{URL}/validate/{created['token']}")
    problem(validated, 400, "invitation_expired")  # still expired: only a resend makes a new link


async def test_asking_twice_is_limited(harness):
    _, _, created = await invited_by_a_person(harness)
    harness.clock.advance(days=2)
    assert (await ask(harness.client(), created["token"])).status_code == 202
    refused = problem(await ask(harness.client(), created["token"]), 429, "rate_limited")
    assert refused["retryAfter"] > 0
    assert len(await harness.send_mail()) == 1


async def test_the_owner_is_told_when_the_inviter_is_gone(harness):
    team, ada, created = await invited_by_a_person(harness)
    key = await make_api_key(harness.rt, team.id)
    removed = await harness.client().delete(f"/api/v1/team-members/{ada.id}", headers={"X-API-Key": key})
    assert removed.status_code == 204, removed.text
    harness.clock.advance(days=2)
    response = await ask(harness.client(), created["token"])
    assert response.status_code == 202, response.text
    assert response.json()["told"] == "Olivia Owner"
    assert [m.recipient for m in await harness.send_mail()] == ["owner@example.com"]


async def test_a_working_a_closed_or_an_unknown_invitation_is_refused(harness):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    admin = harness.client()
    pending = await invite(admin, key, "ann@example.com")
    problem(await ask(harness.client(), pending["token"]), 409, "invitation_pending")
    accepted = await invite(admin, key, "bob@example.com")
    assert (await harness.client().post(f"{URL}/accept", json={"token": accepted["token"], **NEW_PERSON})
            ).status_code == 200
    problem(await ask(harness.client(), accepted["token"]), 400, "invitation_accepted")
    problem(await ask(harness.client(), "not-a-token"), 404, "invitation_not_found")
    async with harness.owner() as db:
        assert await db.scalar(select(AuditEvent).where(AuditEvent.action == "invitation.renewal_requested")) is None
