"""Account mail (password-reset and verification emails: outbox rows of no team) under
row-level security: written from any transaction, seen and updated by none that acts for a team,
and delivered in the same batch as team mail."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from teamgate.services import recovery
from teamgate.storage.models import OutboxMessage, User
from teamgate.storage.scope import act_for
from tests.factories import count_rows, invite, make_api_key, make_team, make_user

pytestmark = pytest.mark.postgres_only


async def test_a_team_scoped_transaction_can_send_a_verification_link_but_never_sees_account_mail(harness):
    team = await make_team(harness.rt)
    person = await make_user(harness.rt, "vera@example.com")
    async with harness.rt.sessions() as db, db.begin():  # as an invitation's accept: acting for the team and the person
        await act_for(db, team_id=team.id, user_id=person.id)
        await recovery.send_verification(db, harness.rt, await db.get(User, person.id))
        await db.flush()
        assert list(await db.scalars(text("SELECT id FROM outbox_messages WHERE team_id IS NULL"))) == []
        hidden = await db.execute(text("UPDATE outbox_messages SET recipient = 'evil@example.com' "
                                       "WHERE team_id IS NULL"))
        assert hidden.rowcount == 0
    assert await count_rows(harness, OutboxMessage, OutboxMessage.team_id.is_(None)) == 1


async def test_account_mail_cannot_be_dressed_up_as_an_invitations(harness):
    person = await make_user(harness.rt, "vera@example.com")
    with pytest.raises(DBAPIError, match="row-level security"):
        async with harness.rt.sessions() as db, db.begin():
            await act_for(db, user_id=person.id)
            await db.execute(text(
                "INSERT INTO outbox_messages (id, team_id, invitation_id, kind, recipient, subject, status, attempts, "
                "next_attempt_at, created_at) VALUES ('msg_x', NULL, 'inv_x', 'x', 'x@x.io', 'x', 'queued', 0, now(), "
                "now())"))


async def test_a_batch_of_team_and_account_mail_is_all_delivered_and_recorded(harness):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    client = harness.client()
    await make_user(harness.rt, "vera@example.com")
    await invite(client, key, "first@example.com")
    assert (await client.post("/api/v1/auth/password-reset", json={"email": "vera@example.com"})).status_code == 202
    await invite(client, key, "second@example.com")
    sent = await harness.send_mail()
    assert sorted(m.recipient for m in sent) == ["first@example.com", "second@example.com", "vera@example.com"]
    async with harness.owner() as db:
        assert set(await db.scalars(select(OutboxMessage.status))) == {"sent"}
