"""The dispatcher records a batch, not each message nor each team: the sent emails of every team
take one statement (teamgate_outbox_record: the outcomes and the invitations' mirrors, with what
the teams' webhook endpoints want), so a batch of twenty teams' emails takes as many statements
as one email, and each invitation still shows its own delivery."""

import pytest

from tests.factories import invite, key_headers, make_api_key, make_team
from tests.statements import statements

pytestmark = pytest.mark.postgres_only

# a drain that sends one batch: the claim, the record, then a claim that finds nothing more
STATEMENTS_PER_BATCH = 3


async def _shows_sent(client, key, made) -> None:
    shown = (await client.get(f"/api/v1/team-invitations/{made['id']}", headers=key_headers(key))).json()
    assert shown["delivery"]["status"] == "sent" and shown["delivery"]["attempts"] == 1
    assert shown["delivery"]["sentAt"] is not None and shown["delivery"]["lastError"] is None


async def test_one_teams_sent_emails_are_recorded_in_as_many_statements_for_one_as_for_twenty(harness, client):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    counts, invited = [], []
    for batch in (1, 20):
        made = [await invite(client, key, f"b{batch}-{n}@example.com") for n in range(batch)]
        invited += made
        with statements(harness) as seen:
            assert len(await harness.send_mail()) == batch
        counts.append(len(seen))
    assert counts == [STATEMENTS_PER_BATCH] * 2, counts
    for made in invited:
        await _shows_sent(client, key, made)


async def test_twenty_teams_sent_emails_are_recorded_in_one_statement(harness, client):
    keys = [await make_api_key(harness.rt, (await make_team(harness.rt, f"owner{n}@example.com")).id)
            for n in range(20)]
    invited = [(key, await invite(client, key, f"t{n}@example.com")) for n, key in enumerate(keys)]
    with statements(harness) as seen:
        assert len(await harness.send_mail()) == 20
    assert len(seen) == STATEMENTS_PER_BATCH, seen
    for key, made in invited:
        await _shows_sent(client, key, made)
