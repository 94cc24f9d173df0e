"""The dispatcher records a batch by team, not by message: the sent emails of one team take the
same few statements whether there is one or twenty (the outcomes, the invitations' mirrors, the
team's webhook endpoints), and each invitation still shows its own delivery."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.factories import invite, key_headers, make_api_key, make_team

pytestmark = pytest.mark.postgres_only


@contextmanager
def statements(harness):
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_):
        seen.append(statement)

    engine = harness.rt.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


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
    assert counts[0] == counts[1], counts
    for made in invited:
        shown = (await client.get(f"/api/v1/team-invitations/{made['id']}", headers=key_headers(key))).json()
        assert shown["delivery"]["status"] == "sent" and shown["delivery"]["attempts"] == 1
        assert shown["delivery"]["sentAt"] is not None and shown["delivery"]["lastError"] is None
