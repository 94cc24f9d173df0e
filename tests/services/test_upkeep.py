"""The dispatcher's periodic upkeep: overdue invitations become `expired` (with an audit event,
their queued email dropped), once each even when several workers run it at once; erased outbox
rows past the retention period and ended sessions are purged; nothing else is touched.

On PostgreSQL the database's clock, not the caller's, bounds what is overdue or old enough to
purge (migration 0007), so these tests start the service's clock in the past and move it to now."""

import asyncio
import pytest
from sqlalchemy import func, select

from teamgate.services.dispatcher import Dispatcher
from teamgate.storage.models import AuditEvent, Invitation, OutboxMessage, Session
from tests.factories import count_rows, invite, key_headers, make_api_key, make_team, sign_in

URL = "/api/v1/team-invitations"


async def statuses(harness) -> dict[str, str]:
    async with harness.owner() as db:
        return dict((await db.execute(select(Invitation.email_normalized, Invitation.status))).all())



async def test_overdue_invitations_are_expired_with_an_audit_event_and_their_queued_email_dropped(harness, client):
    harness.clock.advance(days=-2)  # on PostgreSQL the database's clock bounds what is overdue: start in the past
    teams = [await make_team(harness.rt, f"owner{n}@example.com", name=f"T{n}") for n in range(2)]
    keys = [await make_api_key(harness.rt, t.id) for t in teams]
    await invite(client, keys[0], "soon@example.com", expiresInDays=1)
    await invite(client, keys[1], "other-team@example.com", expiresInDays=1, sendEmail=False)
    await invite(client, keys[0], "later@example.com", expiresInDays=5)
    harness.clock.advance(days=2)

    done = await harness.dispatcher.upkeep()

    assert done.expired == 2
    assert await statuses(harness) == {"soon@example.com": "expired", "other-team@example.com": "expired",
                                       "later@example.com": "pending"}
    assert await count_rows(harness, AuditEvent, AuditEvent.action == "invitation.expired") == 2
    assert await count_rows(harness, OutboxMessage, OutboxMessage.status == "queued") == 1  # only later@'s
    listed = await client.get(f"{URL}?status=expired", headers=key_headers(keys[0]))
    assert [i["email"] for i in listed.json()["data"]] == ["soon@example.com"]
    assert (await harness.dispatcher.upkeep()).expired == 0  # nothing twice


@pytest.mark.postgres_only
async def test_workers_running_upkeep_at_once_expire_each_invitation_once(harness, client):
    harness.clock.advance(days=-2)
    key = await make_api_key(harness.rt, (await make_team(harness.rt)).id)
    for n in range(30):
        await invite(client, key, f"p{n}@example.com", expiresInDays=1, sendEmail=False)
    harness.clock.advance(days=2)
    others = [Dispatcher(harness.rt, harness.mail) for _ in range(3)]

    results = await asyncio.gather(*(d.upkeep() for d in others))

    assert sum(r.expired for r in results) == 30
    assert await count_rows(harness, AuditEvent, AuditEvent.action == "invitation.expired") == 30
    assert set((await statuses(harness)).values()) == {"expired"}


async def test_sent_emails_rows_past_retention_and_ended_sessions_are_purged(harness_with):
    harness = await harness_with(retention_days=10, session_ttl_days=1)
    harness.clock.advance(days=-11)  # the database's clock bounds what may be purged: start in the past
    client = harness.client()
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    await invite(client, key, "old@example.com")
    await harness.send_mail()  # sent: body erased, row kept for now
    await sign_in(harness.client(), team.owner)  # a session that ends after a day
    harness.clock.advance(days=11)
    await invite(client, key, "queued@example.com")  # queued, not sent: never purged
    await sign_in(harness.client(), team.owner)  # a live session

    done = await harness.dispatcher.upkeep()

    assert (done.outbox_purged, done.sessions_purged) == (1, 1)
    async with harness.owner() as db:
        assert list(await db.scalars(select(OutboxMessage.recipient))) == ["queued@example.com"]
        assert await db.scalar(select(func.count()).select_from(Session)) == 1
    assert await count_rows(harness, Invitation) == 2  # invitations themselves are kept (the audit trail refers to them)


async def test_upkeep_does_not_touch_an_invitation_resent_before_it_was_due(harness, client):
    key = await make_api_key(harness.rt, (await make_team(harness.rt)).id)
    created = await invite(client, key, "ann@example.com", expiresInDays=1)
    harness.clock.advance(hours=20)
    assert (await client.post(f"{URL}/{created['id']}/resend", headers=key_headers(key))).status_code == 200
    harness.clock.advance(hours=10)
    assert (await harness.dispatcher.upkeep()).expired == 0
    assert (await statuses(harness))["ann@example.com"] == "pending"


def test_the_retention_period_is_a_positive_setting():
    from pydantic import ValidationError

    from teamgate.config import Settings

    with pytest.raises(ValidationError):
        Settings(_env_file=None, retention_days=0)
    with pytest.raises(ValidationError):
        Settings(_env_file=None, upkeep_interval_seconds=0)
