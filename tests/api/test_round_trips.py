"""The hot paths' round trips to PostgreSQL, counted: each statement costs the service a few
hundred microseconds of Python and the database a round trip, so a change that adds one to
validate, list, create or accept should be a decision, not an accident. (Speed itself is
measured in benchmarks/, never here.)"""

import pytest

from tests.factories import (
    NEW_PERSON,
    acting,
    invite,
    issue_server_key,
    key_headers,
    mailed_token,
    make_api_key,
    make_team,
    sign_in,
)
from tests.statements import statements

pytestmark = pytest.mark.postgres_only

URL = "/api/v1/team-invitations"


async def test_each_hot_path_runs_its_few_statements_and_no_more(harness, client):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    await invite(client, key, "warm@example.com")  # the key's last-used time is written once, not on every use

    with statements(harness) as create:
        await invite(client, key, "ann@example.com")
    emailed = await mailed_token(harness, "ann@example.com")
    with statements(harness) as validate:  # as the invitee opens the emailed link
        assert (await client.get(f"{URL}/validate/{emailed}")).status_code == 200
    with statements(harness) as listing:
        assert len((await client.get(URL, headers=key_headers(key))).json()["data"]) == 2
    with statements(harness) as accept:  # with the emailed link, as most invitees do
        assert (await client.post(f"{URL}/accept", json={"token": emailed, **NEW_PERSON})).status_code == 200

    # the key's lookup returns the key and its team and sets the scope, all in one (migration 0013);
    # the token's facts (migration 0014) are one statement: the invitation with its team, its
    # sender's key or membership and whether an account holds the address, the scope set inside
    assert len(validate) == 1, validate  # the token's facts
    assert len(listing) == 2, listing  # the key with its team, the page
    # the key with its team; then (issue 17, phase 2) one statement for every fact the rules
    # decide on (member by email, pending for email, pending cap, and (a decision, issue 14) the
    # team's webhook endpoints, read to queue invitation.created in the same transaction: an event
    # is never lost nor invented only if it commits with the change), and one that writes the
    # invitation with its outbox email, audit event and webhook deliveries (storage/repositories/
    # invitation_create.py)
    assert len(create) == 3, create
    # the token's facts (the invitation's row locked: a concurrent accept waits, then finds it
    # accepted), the new account (scope, insert), marking it accepted (naming the new account and
    # read back in the same UPDATE), membership, audit, the session; and (issue 14) the team's
    # webhook endpoints, read once per transaction for both invitation.accepted and
    # membership.created (storage/repositories/webhooks.enabled). The team's row is locked and its
    # members counted only when it has a seat limit (this one has none).
    assert len(accept) == 8, accept
    # the endpoints are read once in each (create's with its other facts, joined: no FROM of their own)
    assert sum(" webhook_endpoints" in s for s in create + accept) == 2, create + accept
    assert sum("set_config" in s for s in accept) == 1, accept  # the new user's; the team's is set inside the facts
    assert all("SAVEPOINT" not in s and "set_config($" not in s for s in create + validate + listing), create


async def test_a_bulk_create_adds_a_single_creates_statements_per_row_and_a_savepoint(harness, client):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    await invite(client, key, "warm@example.com")
    counted = []
    for size in (1, 3):
        rows = [{"email": f"b{size}-{n}@example.com", "role": "member"} for n in range(size)]
        with statements(harness) as seen:
            response = await client.post(f"{URL}/bulk", headers=key_headers(key), json={"invitations": rows})
        assert response.json()["summary"]["created"] == size
        counted.append(seen)
    one, three = counted
    per_row = (len(three) - len(one)) // 2
    # the single create's own (its facts; the invitation written with its email, audit event and
    # deliveries) inside the row's savepoint (SAVEPOINT, RELEASE); the team's webhook endpoints are
    # read with the first row's facts only, once per transaction
    assert per_row == 4, three
    assert sum(s.startswith("SAVEPOINT") for s in three) == 3
    # around the rows: the key with its team, and the seats used after (members, pending)
    assert len(one) - per_row == 3, one


async def test_a_session_or_a_server_key_is_found_with_its_rows_in_one_statement(harness, client):
    team = await make_team(harness.rt, owner_external_id="u-olivia")
    await sign_in(client, team.owner)  # the session's last-seen time was just written: not again for minutes
    await invite(client, await make_api_key(harness.rt, team.id), "ann@example.com")
    server_key = (await issue_server_key(harness.rt)).secret
    product = harness.client()
    await product.get(URL, headers=acting(server_key, team.id, "u-olivia"))  # its last use written once

    with statements(harness) as me:
        assert (await client.get("/api/v1/me")).status_code == 200
    with statements(harness) as listing:  # in the session's active team
        assert (await client.get(URL)).status_code == 200
    with statements(harness) as acted:
        assert (await product.get(URL, headers=acting(server_key, team.id, "u-olivia"))).status_code == 200

    # the session with its user, and the account held, in one statement (before: the lookup, the
    # account held, the session with its user); then the person's teams
    assert len(me) == 2, me
    # the session; the active team's scope, the caller's membership, the page
    assert len(listing) == 4, listing
    # the server key; its person, scoped (before: the id, the scope, the row); the team's scope, the
    # person's membership, the page, and the use recorded in the team's audit trail
    assert len(acted) == 6, acted
    assert all("FOR SHARE" not in s for s in me + listing), me  # the account is held inside the lookup now
