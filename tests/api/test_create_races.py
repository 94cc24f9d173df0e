"""Races on creation: two admins inviting one email at once, and an account made for an email
while its invitation is being accepted. The requests really overlap (asyncio.gather, one
transaction each); the database's unique indexes decide, and the loser gets a clear 409."""

import asyncio

from teamgate import errors
from teamgate.storage.models import Invitation, User
from tests.factories import (NEW_PERSON, add_member, count_rows, invite, make_api_key, make_team, make_user, problem,
                             sign_in)

URL = "/api/v1/team-invitations"



async def test_two_admins_inviting_one_email_at_once_leave_one_pending_and_a_409_naming_it(harness):
    team = await make_team(harness.rt)
    admins = []
    for name in ("adam", "alma"):
        client = harness.client()
        person = await add_member(harness.rt, team.id, f"{name}@example.com", role="admin")
        admins.append((client, {**await sign_in(client, person), "X-Team-Id": team.id}))
    for n in range(5):
        email = f"wanted{n}@example.com"
        responses = await asyncio.gather(*(client.post(URL, headers=headers, json={"email": email, "role": "member"})
                                           for client, headers in admins))
        won = [r for r in responses if r.status_code == 201]
        lost = [r for r in responses if r.status_code != 201]
        assert len(won) == 1 and len(lost) == 1, [r.text for r in responses]
        body = problem(lost[0], 409, "invitation_pending")
        assert body["invitationId"] == won[0].json()["id"]
        assert await count_rows(harness, Invitation, Invitation.email_normalized == email,
                           Invitation.status == "pending") == 1


async def test_two_invitations_of_one_new_person_accepted_at_once_make_one_account(harness):
    client = harness.client()
    tokens = []
    for n in range(2):
        team = await make_team(harness.rt, f"owner{n}@example.com", name=f"Team {n}")
        tokens.append((await invite(client, await make_api_key(harness.rt, team.id), "twice@example.com"))["token"])

    responses = await asyncio.gather(*(harness.client().post(f"{URL}/accept", json={"token": t, **NEW_PERSON})
                                       for t in tokens))

    assert sorted(r.status_code for r in responses) == [200, 409]
    problem(next(r for r in responses if r.status_code == 409), 409, "account_exists")
    assert await count_rows(harness, User, User.email_normalized == "twice@example.com") == 1
    # the loser's invitation is untouched: the new account signs in and accepts it
    assert await count_rows(harness, Invitation, Invitation.status == "pending") == 1


async def test_an_accept_racing_an_operator_creating_the_account_leaves_one_account(harness):
    client = harness.client()
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    for n in range(4):
        email = f"racer{n}@example.com"
        created = await invite(client, key, email)

        async def operator_creates() -> str:
            try:
                await make_user(harness.rt, email)
                return "created"
            except errors.AccountExists:
                return "account_exists"

        accepted, operator = await asyncio.gather(
            harness.client().post(f"{URL}/accept", json={"token": created["token"], **NEW_PERSON}), operator_creates())

        assert await count_rows(harness, User, User.email_normalized == email) == 1
        if accepted.status_code == 200:
            assert operator == "account_exists"
        else:
            problem(accepted, 409, "account_exists")
            assert operator == "created"
            assert await count_rows(harness, Invitation, Invitation.id == created["id"], Invitation.status == "pending") == 1
