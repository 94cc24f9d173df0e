"""Concurrent uses of one token: of many accepts exactly one wins, and accept racing cancel ends consistent.

The requests really overlap: each comes from its own client, all are started together with
asyncio.gather, and each runs in its own database transaction (PostgreSQL row locks; SQLite
serialises writers).
"""

import asyncio

from sqlalchemy import func, select

from teamgate.storage.models import Membership, User
from tests.factories import NEW_PERSON, invite, key_headers, make_api_key, make_team



async def accept(client, token):
    return await client.post("/api/v1/team-invitations/accept", json={"token": token, **NEW_PERSON})


async def cancel(client, key, invitation):
    return await client.delete(f"/api/v1/team-invitations/{invitation['id']}", headers=key_headers(key))


def codes(responses) -> list:
    return sorted((r.status_code, r.json().get("code")) for r in responses)


async def users_with_email(harness, email) -> int:
    async with harness.owner() as db:
        return await db.scalar(select(func.count()).select_from(User).where(User.email_normalized == email))


async def memberships_of(harness, team_id, email) -> int:
    async with harness.owner() as db:
        return await db.scalar(select(func.count()).select_from(Membership)
                               .join(User, User.id == Membership.user_id)
                               .where(Membership.team_id == team_id, User.email_normalized == email))


async def status_of(client, key, invitation) -> str:
    response = await client.get(f"/api/v1/team-invitations/{invitation['id']}", headers=key_headers(key))
    assert response.status_code == 200, response.text
    return response.json()["status"]


async def test_of_ten_concurrent_accepts_of_one_token_exactly_one_wins(harness):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    admin = harness.client()
    created = await invite(admin, key, "racer@example.com")

    responses = await asyncio.gather(*(accept(harness.client(), created["token"]) for _ in range(10)))

    assert codes(responses) == [(200, None)] + [(400, "invitation_accepted")] * 9
    assert await users_with_email(harness, "racer@example.com") == 1
    assert await memberships_of(harness, team.id, "racer@example.com") == 1
    assert await status_of(admin, key, created) == "accepted"


async def test_an_accept_racing_a_cancel_ends_either_accepted_or_revoked_never_both(harness):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    admin = harness.client()
    for n in range(6):
        email = f"racer{n}@example.com"
        created = await invite(admin, key, email)

        accepted, cancelled = await asyncio.gather(accept(harness.client(), created["token"]),
                                                   cancel(harness.client(), key, created))

        final = await status_of(admin, key, created)
        members = await memberships_of(harness, team.id, email)
        users = await users_with_email(harness, email)
        if accepted.status_code == 200:
            assert (cancelled.status_code, cancelled.json()["code"]) == (409, "invitation_not_pending")
            assert (final, members, users) == ("accepted", 1, 1)
        else:
            assert (accepted.status_code, accepted.json()["code"]) == (400, "invitation_revoked")
            assert cancelled.status_code == 200, cancelled.text
            assert (final, members, users) == ("revoked", 0, 0)
