"""Reminders (DESIGN 14): the upkeep emails one reminder per pending invitation
TEAMGATE_REMINDER_BEFORE_EXPIRY_HOURS before it expires, with a fresh mail token (the earlier
email's link dies, the creator's link token lives on), exactly once however many workers run it.

On PostgreSQL the database's clock bounds what is due (migration 0012, like 0007's), so these
tests make invitations with the service's clock in the past and then move it to now."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from teamgate.services.dispatcher import Dispatcher
from teamgate.storage.models import AuditEvent, OutboxMessage
from tests.factories import add_member, count_rows, invite, key_headers, mailed_token, make_api_key, make_team, \
    sign_in

URL = "/api/v1/team-invitations"


async def validate(client, token: str) -> int:
    return (await client.get(f"{URL}/validate/{token}")).status_code


async def reminders_queued(harness) -> list[str]:
    async with harness.owner() as db:
        return list(await db.scalars(select(OutboxMessage.recipient).where(OutboxMessage.kind == "invitation.reminder")
                                     .order_by(OutboxMessage.recipient)))


async def test_one_reminder_with_a_fresh_mail_token_the_old_emailed_link_dies_the_creators_lives(harness, client):
    harness.clock.advance(days=-6)
    key = await make_api_key(harness.rt, (await make_team(harness.rt)).id)
    created = await invite(client, key, "ann@example.com", expiresInDays=7)
    first_mail_token = await mailed_token(harness, "ann@example.com")
    harness.clock.advance(days=4, hours=23)
    assert (await harness.dispatcher.upkeep()).reminded == 0  # 49 hours before expiry: not yet in the window
    harness.clock.advance(days=1, hours=1)

    done = await harness.dispatcher.upkeep()

    assert done.reminded == 1
    [reminder] = await harness.send_mail()
    assert reminder.subject.startswith("Reminder: your invitation to join Acme")
    assert "the one in the earlier email no longer works" in reminder.text
    new_mail_token = await mailed_token(harness, "ann@example.com")
    assert new_mail_token != first_mail_token
    assert await validate(client, first_mail_token) == 404
    assert await validate(client, new_mail_token) == 200
    assert await validate(client, created["token"]) == 200  # the creator's link token did not change
    shown = (await client.get(f"{URL}/{created['id']}", headers=key_headers(key))).json()
    assert (shown["sendCount"], shown["delivery"]["status"]) == (2, "sent")
    assert await count_rows(harness, AuditEvent, AuditEvent.action == "invitation.reminded") == 1
    assert (await harness.dispatcher.upkeep()).reminded == 0  # once per lifetime
    accepted = await client.post(f"{URL}/accept", json={"token": new_mail_token, "password": "a long new password",
                                                        "firstName": "Ann", "lastName": "Lee"})
    assert accepted.status_code == 200 and accepted.json()["user"]["emailVerified"] is True


async def test_a_resend_starts_a_new_lifetime_with_its_own_reminder(harness, client):
    harness.clock.advance(days=-12)
    key = await make_api_key(harness.rt, (await make_team(harness.rt)).id)
    created = await invite(client, key, "ann@example.com", expiresInDays=7)
    harness.clock.advance(days=6)
    assert (await harness.dispatcher.upkeep()).reminded == 1
    harness.clock.advance(minutes=1)
    resent = await client.post(f"{URL}/{created['id']}/resend", headers=key_headers(key))
    assert resent.status_code == 200, resent.text
    assert (await harness.dispatcher.upkeep()).reminded == 0  # a week to go again
    harness.clock.advance(days=6)
    assert (await harness.dispatcher.upkeep()).reminded == 1


async def test_no_reminder_without_email_for_a_short_invitation_for_a_closed_one_or_a_dead_inviter(harness, client):
    harness.clock.advance(days=-6)
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    await invite(client, key, "nomail@example.com", expiresInDays=7, sendEmail=False)
    await invite(client, key, "short@example.com", expiresInDays=1)  # lives less than the 48-hour window
    cancelled = await invite(client, key, "cancelled@example.com", expiresInDays=7)
    assert (await client.delete(f"{URL}/{cancelled['id']}", headers=key_headers(key))).status_code == 200
    gone = await add_member(harness.rt, team.id, "gone@example.com", role="admin")
    person = harness.client()
    made = await person.post(URL, headers=await sign_in(person, gone),
                             json={"email": "orphan@example.com", "role": "member", "expiresInDays": 7})
    assert made.status_code == 201, made.text
    assert (await client.delete(f"/api/v1/team-members/{gone.id}", headers=key_headers(key))).status_code == 204
    harness.clock.advance(days=6)

    assert (await harness.dispatcher.upkeep()).reminded == 0
    assert await reminders_queued(harness) == []


async def test_zero_hours_sends_no_reminder(harness_with):
    harness = await harness_with(reminder_before_expiry_hours=0)
    harness.clock.advance(days=-6)
    key = await make_api_key(harness.rt, (await make_team(harness.rt)).id)
    await invite(harness.client(), key, "ann@example.com", expiresInDays=7)
    harness.clock.advance(days=6)
    assert (await harness.dispatcher.upkeep()).reminded == 0


async def test_the_window_is_a_setting(harness_with):
    harness = await harness_with(reminder_before_expiry_hours=12)
    harness.clock.advance(days=-6, hours=-13)
    key = await make_api_key(harness.rt, (await make_team(harness.rt)).id)
    await invite(harness.client(), key, "ann@example.com", expiresInDays=7)
    harness.clock.advance(days=6, hours=11)  # 13 hours before expiry
    assert (await harness.dispatcher.upkeep()).reminded == 0
    harness.clock.advance(hours=2)
    assert (await harness.dispatcher.upkeep()).reminded == 1


@pytest.mark.postgres_only
async def test_three_workers_at_once_remind_each_invitation_once(harness, client):
    harness.clock.advance(days=-6)
    key = await make_api_key(harness.rt, (await make_team(harness.rt)).id)
    for n in range(30):
        await invite(client, key, f"p{n:02}@example.com", expiresInDays=7)
    await harness.send_mail()
    harness.clock.advance(days=6)
    workers = [Dispatcher(harness.rt, harness.mail) for _ in range(3)]

    results = await asyncio.gather(*(w.upkeep() for w in workers))

    assert sum(r.reminded for r in results) == 30
    assert await reminders_queued(harness) == [f"p{n:02}@example.com" for n in range(30)]
    assert await count_rows(harness, AuditEvent, AuditEvent.action == "invitation.reminded") == 30
    assert sum([(await w.upkeep()).reminded for w in workers]) == 0
