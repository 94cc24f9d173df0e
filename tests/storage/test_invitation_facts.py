"""teamgate_invitation_facts (migration 0014), the one read behind a token: it crosses the walls
only by a token's hash, returns the rows the invitation's own team may see plus two facts about
the account holding its address, scopes the transaction to that team and no other, holds the row
when asked; and its migration goes down and up."""

import asyncio
import secrets

import asyncpg
import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from teamgate.domain.tokens import hash_token
from teamgate.storage.db import alembic_config, make_engine, migrate
from tests.conftest import PG_SERVER
from tests.factories import invite, make_api_key, make_team, make_user

pytestmark = pytest.mark.postgres_only

FACTS = ("SELECT (f.invitation).id, (f.team).id, (f.api_key).id, f.account_id, f.account_verified "
         "FROM teamgate_invitation_facts(:h, :lock) AS f")


async def two_teams_invited(harness):
    alpha = await make_team(harness.rt, "a@example.com", name="Alpha")
    beta = await make_team(harness.rt, "b@example.com", name="Beta")
    client = harness.client()
    made = {}
    for team, email in ((alpha, "ann@alpha.example.com"), (beta, "bob@beta.example.com")):
        made[team.id] = await invite(client, await make_api_key(harness.rt, team.id), email)
    return alpha, beta, made


async def seen_team_ids(db) -> set:
    return set(await db.scalars(text("SELECT team_id FROM invitations")))


async def test_a_token_shows_its_own_team_only_and_scopes_the_transaction_to_it(harness):
    alpha, _, made = await two_teams_invited(harness)
    async with harness.rt.sessions() as db, db.begin():
        row = (await db.execute(text(FACTS), {"h": hash_token(made[alpha.id]["token"]), "lock": False})).one()
        assert row[:2] == (made[alpha.id]["id"], alpha.id)
        # the wall, for the rest of the transaction: the token's team and nothing else
        assert await seen_team_ids(db) == {alpha.id}
        assert set(await db.scalars(text("SELECT id FROM teams"))) == {alpha.id}


async def test_an_unknown_token_finds_nothing_and_leaves_the_scope_as_it_was(harness):
    alpha, _, made = await two_teams_invited(harness)
    async with harness.rt.sessions() as db, db.begin():
        assert (await db.execute(text(FACTS), {"h": hash_token("no such token"), "lock": True})).all() == []
        assert await seen_team_ids(db) == set()  # nothing was set, so nothing is seen
        await db.execute(text(FACTS), {"h": hash_token(made[alpha.id]["token"]), "lock": False})
        assert (await db.execute(text(FACTS), {"h": hash_token("another"), "lock": False})).all() == []
        assert await seen_team_ids(db) == {alpha.id}  # still alpha's, not widened nor cleared


async def test_of_the_account_holding_the_address_only_its_id_and_proof_come_back(harness):
    alpha, _, made = await two_teams_invited(harness)
    holder = await make_user(harness.rt, "ann@alpha.example.com")
    async with harness.rt.sessions() as db, db.begin():
        row = (await db.execute(text(FACTS), {"h": hash_token(made[alpha.id]["token"]), "lock": False})).one()
        assert (row.account_id, row.account_verified) == (holder.id, False)
        columns = (await db.execute(text("SELECT * FROM teamgate_invitation_facts(:h, false)"),
                                    {"h": hash_token(made[alpha.id]["token"])})).keys()
        assert list(columns) == ["invitation", "team", "api_key", "membership", "account_id", "account_verified"]
        # and the account's own row stays behind its wall: the team's scope does not show it
        assert list(await db.scalars(text("SELECT id FROM users WHERE id = :u"), {"u": holder.id})) == []


async def test_a_locking_read_holds_the_invitation_until_the_transaction_ends(harness):
    alpha, _, made = await two_teams_invited(harness)
    token = {"h": hash_token(made[alpha.id]["token"])}
    async with harness.rt.sessions() as holder, holder.begin():
        await holder.execute(text(FACTS), {**token, "lock": True})
        async with harness.rt.sessions() as other, other.begin():
            assert len((await other.execute(text(FACTS), {**token, "lock": False})).all()) == 1  # reading never waits
        with pytest.raises(DBAPIError, match="lock timeout"):
            async with harness.rt.sessions() as other, other.begin():
                await other.execute(text("SET LOCAL lock_timeout = '200ms'"))
                await other.execute(text(FACTS), {**token, "lock": True})


async def test_the_migration_removes_the_function_and_puts_it_back(postgresql_db):  # (skips with no server)
    name = f"teamgate_test_facts_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        engine = make_engine(f"{PG_SERVER.replace('postgresql://', 'postgresql+asyncpg://')}/{name}")
        try:
            await migrate(engine)

            def move(connection, step, revision) -> None:
                cfg = alembic_config()
                cfg.attributes["connection"] = connection
                step(cfg, revision)

            async def present() -> bool:
                async with engine.connect() as conn:
                    return bool(await conn.scalar(text(
                        "SELECT count(*) FROM pg_proc WHERE proname = 'teamgate_invitation_facts'")))

            assert await present()
            async with engine.begin() as conn:
                await conn.run_sync(move, command.downgrade, "0012")
            assert not await present()
            async with engine.begin() as conn:
                await conn.run_sync(move, command.upgrade, "head")
            assert await present()
        finally:
            await engine.dispose()
    finally:
        await asyncio.wait_for(admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'), 60)
        await admin.close()
