"""The kept answers of idempotency keys behind the second wall (PostgreSQL): an API key's rows
are its team's, a person's rows are that person's alone, whichever team they acted in; the
upkeep erases expired ones across callers, and nothing unexpired."""

import pytest
from sqlalchemy import text

from teamgate.storage.scope import act_for
from tests.factories import add_member, key_headers, make_api_key, make_team, sign_in

pytestmark = pytest.mark.postgres_only


async def rows(db) -> list[str]:
    return list(await db.scalars(text("SELECT caller FROM idempotency_keys ORDER BY caller")))


async def test_a_persons_answers_are_seen_only_by_that_person_and_a_keys_only_in_its_team(harness):
    team = await make_team(harness.rt)
    admin = await add_member(harness.rt, team.id, "admin@example.com", role="admin")
    client = harness.client()
    csrf = await sign_in(client, admin)
    made = await client.post("/api/v1/teams", headers={**csrf, "Idempotency-Key": "t1"}, json={"name": "Mine"})
    assert made.status_code == 201
    key = await make_api_key(harness.rt, team.id)
    task = await client.post("/api/v1/tasks", headers={**key_headers(key), "Idempotency-Key": "t2"},
                             json={"title": "x"})
    assert task.status_code == 201
    other = await make_team(harness.rt, "other@example.com", name="Other")

    async with harness.rt.sessions() as db, db.begin():
        await act_for(db, user_id=admin.id)
        assert await rows(db) == [f"user:{admin.id}"]
    async with harness.rt.sessions() as db, db.begin():
        await act_for(db, team_id=team.id, user_id=team.owner.id)  # the team's owner: the team's key, not her rows
        assert [r.split(":")[0] for r in await rows(db)] == ["api_key"]
    async with harness.rt.sessions() as db, db.begin():
        await act_for(db, team_id=other.id, user_id=other.owner.id)
        assert await rows(db) == []
    async with harness.rt.sessions() as db, db.begin():
        assert await rows(db) == []


async def test_the_purge_function_erases_only_what_has_expired_by_the_databases_clock(harness):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    client = harness.client()
    harness.clock.advance(hours=-30)
    await client.post("/api/v1/tasks", headers={**key_headers(key), "Idempotency-Key": "old"}, json={"title": "a"})
    harness.clock.advance(hours=30)
    await client.post("/api/v1/tasks", headers={**key_headers(key), "Idempotency-Key": "new"}, json={"title": "b"})
    async with harness.rt.sessions() as db, db.begin():  # the service role, no scope: a caller asking for everything
        gone = await db.scalar(text("SELECT teamgate_idempotency_purge(now() + interval '10 years')"))
    assert gone == 1
    async with harness.owner() as db:
        assert await db.scalar(text("SELECT count(*) FROM idempotency_keys")) == 1
