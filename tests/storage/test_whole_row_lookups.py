"""The whole-row lookups of migration 0013 (PostgreSQL), proven alone as the service role with raw
SQL: each returns only the live row behind an exact hash (or external id), sets its scope only
when it found one, and after it the transaction sees that scope's rows and no other's. The
session lookup holds the account before it reads the session, so an account takeover and a
request signed in to that account still take turns."""

import asyncio
import secrets

import asyncpg
import pytest
from alembic import command
from sqlalchemy import text

from teamgate.domain.tokens import hash_token
from teamgate.http.cookies import SESSION_COOKIE
from teamgate.storage.db import alembic_config, make_engine, migrate
from teamgate.storage.repositories import accounts
from teamgate.storage.scope import act_for
from tests.factories import issue_api_key, issue_server_key, make_team, make_user, sign_in

pytestmark = pytest.mark.postgres_only

KEY = "SELECT (f.api_key).id, (f.team).id FROM teamgate_api_key_facts(:h) AS f"
SESSION = "SELECT (f.found_session).id, (f.account).id FROM teamgate_session_facts(:h, {now}) AS f"
SETTING = "SELECT coalesce(current_setting('teamgate.{name}', true), '')"


async def as_service(harness, *statements: str, **params) -> list[list]:
    """The statements in one transaction as the service role, nothing set first: each one's rows."""
    async with harness.rt.sessions() as db, db.begin():
        return [[tuple(r) for r in (await db.execute(text(s), params)).all()] for s in statements]


async def signed_in(harness, email: str) -> tuple[str, bytes]:
    person = await make_user(harness.rt, email)
    client = harness.client()
    await sign_in(client, person)
    return person.id, hash_token(client.cookies[SESSION_COOKIE])


async def test_the_key_lookup_gives_the_live_key_and_its_team_and_then_only_that_teams_rows(harness):
    alpha, beta = await make_team(harness.rt, "a@example.com"), await make_team(harness.rt, "b@example.com")
    key = (await issue_api_key(harness.rt, alpha.id)).api_key
    await issue_api_key(harness.rt, beta.id)
    found, scope, keys, teams = await as_service(
        harness, KEY, SETTING.format(name="team_id"), "SELECT DISTINCT team_id FROM api_keys", "SELECT id FROM teams",
        h=key.secret_hash)
    assert found == [(key.id, alpha.id)]
    assert scope == [(alpha.id,)] and keys == [(alpha.id,)] and teams == [(alpha.id,)]


async def test_an_unknown_or_revoked_key_finds_nothing_and_scopes_nothing(harness):
    team = await make_team(harness.rt)
    key = (await issue_api_key(harness.rt, team.id)).api_key
    async with harness.owner() as db:
        await db.execute(text("UPDATE api_keys SET revoked_at = now() WHERE id = :k"), {"k": key.id})
    for wrong in (key.secret_hash, key.secret_hash[:16], b"", None):
        found, scope, keys = await as_service(harness, KEY, SETTING.format(name="team_id"), "SELECT id FROM api_keys",
                                              h=wrong)
        assert (found, scope, keys) == ([], [("",)], []), wrong


async def test_the_session_lookup_gives_the_live_session_and_its_user_and_then_only_their_rows(harness):
    mine, token = await signed_in(harness, "me@example.com")
    await signed_in(harness, "other@example.com")
    found, scope, sessions, users = await as_service(
        harness, SESSION.format(now="now()"), SETTING.format(name="user_id"), "SELECT user_id FROM sessions",
        "SELECT id FROM users", h=token)
    assert [u for _, u in found] == [mine]
    assert scope == [(mine,)] and sessions == [(mine,)] and users == [(mine,)]


async def test_an_ended_session_is_not_revived_by_an_old_now_and_scopes_nothing(harness):
    _, token = await signed_in(harness, "me@example.com")
    async with harness.owner() as db:
        await db.execute(text("UPDATE sessions SET expires_at = now() - interval '1 minute'"))
    for now in ("now()", "now() - interval '10 days'", "NULL"):
        found, scope, sessions = await as_service(
            harness, SESSION.format(now=now), SETTING.format(name="user_id"), "SELECT id FROM sessions", h=token)
        assert (found, scope, sessions) == ([], [("",)], []), now


async def test_the_server_key_lookup_gives_the_live_key_alone(harness):
    one, two = await issue_server_key(harness.rt, name="one"), await issue_server_key(harness.rt, name="two")
    found, seen = await as_service(harness, "SELECT id, name FROM teamgate_server_key_facts(:h)",
                                   "SELECT id FROM server_keys", h=one.server_key.secret_hash)
    assert found == [(one.server_key.id, "one")] and seen == [(one.server_key.id,)]
    async with harness.owner() as db:
        await db.execute(text("UPDATE server_keys SET revoked_at = now() WHERE id = :k"), {"k": two.server_key.id})
    found, scope = await as_service(harness, "SELECT id FROM teamgate_server_key_facts(:h)",
                                    SETTING.format(name="server_key_id"), h=two.server_key.secret_hash)
    assert (found, scope) == ([], [("",)])


async def test_the_person_lookup_takes_the_exact_external_id_only(harness):
    team = await make_team(harness.rt, owner_external_id="u-olivia")
    await make_user(harness.rt, "other@example.com", external_id="u-oscar")
    lookup = "SELECT id FROM teamgate_user_facts_by_external_id(:x)"
    for pattern in ("u-%", "U-OLIVIA", "u-olivia ", ""):
        found, scope, users = await as_service(harness, lookup, SETTING.format(name="user_id"), "SELECT id FROM users",
                                               x=pattern)
        assert (found, scope, users) == ([], [("",)], []), pattern
    found, scope, users = await as_service(harness, lookup, SETTING.format(name="user_id"), "SELECT id FROM users",
                                           x="u-olivia")
    assert found == scope == users == [(team.owner.id,)]


async def test_a_takeover_holding_the_account_wins_over_a_session_lookup_that_waits_for_it(harness):
    """The lookup holds the account before it reads the session: one that comes while a takeover
    holds the account waits, then reads afresh and finds the session the takeover ended."""
    user_id, token = await signed_in(harness, "me@example.com")
    async with harness.rt.sessions() as takeover, takeover.begin():
        await act_for(takeover, user_id=user_id)
        await accounts.hold_exclusively(takeover, user_id)
        await takeover.execute(text("DELETE FROM sessions WHERE user_id = :u"), {"u": user_id})

        async def look_up():
            async with harness.rt.sessions() as db, db.begin():
                return await accounts.session_by_hash(db, token, harness.clock.now())

        waiting = asyncio.create_task(look_up())
        await asyncio.sleep(0.5)
        assert not waiting.done()  # it waits for the account
    assert await waiting is None


async def test_a_takeover_waits_for_a_request_that_found_its_session_first(harness):
    user_id, token = await signed_in(harness, "me@example.com")
    async with harness.rt.sessions() as request, request.begin():
        assert await accounts.session_by_hash(request, token, harness.clock.now()) is not None

        async def take_over():
            async with harness.rt.sessions() as db, db.begin():
                await act_for(db, user_id=user_id)
                await accounts.hold_exclusively(db, user_id)

        waiting = asyncio.create_task(take_over())
        await asyncio.sleep(0.5)
        assert not waiting.done()  # the request holds the account until it ends
    await waiting


FUNCTIONS = {"teamgate_api_key_facts", "teamgate_session_facts", "teamgate_server_key_facts",
             "teamgate_user_facts_by_external_id"}


async def test_the_migration_goes_down_to_0012_and_up_again(postgresql_db):
    server, _ = postgresql_db.owner_url.rsplit("/", 1)
    name = f"teamgate_test_0013_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(f"{server.replace('+asyncpg', '')}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(f"{server}/{name}")
    try:
        await migrate(engine)

        async def present() -> set[str]:
            async with engine.connect() as conn:
                return set(await conn.scalars(text("SELECT proname FROM pg_proc WHERE proname LIKE 'teamgate%'")))

        def downgrade(connection):
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0012")

        assert await present() >= FUNCTIONS
        async with engine.begin() as conn:
            await conn.run_sync(downgrade)
        left = await present()
        assert not FUNCTIONS & left and "teamgate_api_key_by_hash" in left  # 0012's lookups stay
        await migrate(engine)
        assert await present() >= FUNCTIONS
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
