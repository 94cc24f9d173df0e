"""The second wall, proven alone: as the service's role, with raw SQL that skips every filter
of the data layer, PostgreSQL itself shows and accepts only the current team's rows."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from teamgate.domain.ids import new_id
from teamgate.storage.roles import UnsafeRole, refuse_privileged_role
from teamgate.storage.scope import act_for
from tests.factories import invite, key_headers, make_api_key, make_team, make_user, sign_in

pytestmark = pytest.mark.postgres_only

TEAM_TABLES = ["memberships", "tasks", "task_assignments", "invitations", "api_keys", "audit_events",
               "outbox_messages", "webhook_endpoints", "join_links", "join_requests",
               "idempotency_keys"]
USER_TABLES = ["users", "sessions", "account_tokens", "oauth_grants", "oauth_refresh_tokens", "oauth_consents"]
# the OpenID Connect provider's: the installation's, readable by all, written only as their policies allow
INSTALLATION_TABLES = {"oidc_clients", "oidc_signing_keys"}
SERVER_KEY_TABLES = ["server_keys"]  # a transaction sees only the server key it authenticated with
GLOBAL_TABLES = {"alembic_version", "setup_tokens"}  # no team or user in them; nothing to separate


async def populate(harness, owner_email: str, name: str):
    """A team with a row in every scoped table: member, task with assignee, invitation with its
    queued email, API key, audit events, a webhook endpoint, a join link with a request waiting on
    it, an idempotency key's kept answer, and a signed-in session."""
    team = await make_team(harness.rt, owner_email, name=name)
    key = await make_api_key(harness.rt, team.id)
    client = harness.client()
    task = await client.post("/api/v1/tasks", headers={**key_headers(key), "Idempotency-Key": "task-1"},
                             json={"title": f"{name} task", "assigneeIds": [team.owner.id]})
    assert task.status_code == 201
    await invite(client, key, f"invitee@{name.lower()}.example.com")
    webhook = await client.post("/api/v1/webhooks", headers=key_headers(key),
                                json={"url": f"https://hooks.{name.lower()}.example.com/in"})
    assert webhook.status_code == 201
    link = await client.post("/api/v1/join-links", headers=key_headers(key),
                             json={"role": "member", "requiresApproval": True})
    assert link.status_code == 201
    asker, asker_client = await make_user(harness.rt, f"asker@{name.lower()}.example.com"), harness.client()
    asked = await asker_client.post("/api/v1/join-links/accept", json={"token": link.json()["token"]},
                                    headers=await sign_in(asker_client, asker))  # (a new person would get account mail)
    assert asked.status_code == 202, asked.text
    await sign_in(harness.client(), team.owner)
    return team


@pytest.fixture
async def teams(harness):
    return await populate(harness, "a@example.com", "Alpha"), await populate(harness, "b@example.com", "Beta")


async def rows(db, table: str, column: str = "team_id") -> list:
    return list(await db.scalars(text(f"SELECT {column} FROM {table}")))


async def test_with_team_a_set_an_unfiltered_select_sees_no_row_of_team_b(harness, teams):
    alpha, beta = teams
    async with harness.rt.sessions() as db, db.begin():
        await act_for(db, team_id=alpha.id)
        for table in TEAM_TABLES:
            seen = await rows(db, table)
            assert seen and set(seen) == {alpha.id}, table
        assert await rows(db, "teams", "id") == [alpha.id]
        assert await rows(db, "users", "id") == [alpha.owner.id]  # teammates only
    async with harness.owner() as db:  # the rows of team B are there all the same
        assert beta.id in await rows(db, "invitations")


async def test_with_a_user_set_only_that_users_own_rows_are_seen(harness, teams):
    alpha, _ = teams
    async with harness.rt.sessions() as db, db.begin():
        await act_for(db, user_id=alpha.owner.id)
        assert await rows(db, "users", "id") == [alpha.owner.id]
        assert set(await rows(db, "sessions", "user_id")) == {alpha.owner.id}
        assert await rows(db, "memberships") == [alpha.id]  # my memberships, across teams
        assert await rows(db, "teams", "id") == [alpha.id]  # my teams
        assert await rows(db, "invitations") == []  # but no team's data


async def test_a_person_sees_their_own_join_requests_in_every_team_and_nobody_elses(harness, teams):
    alpha, beta = teams
    async with harness.owner() as db:
        asker = await db.scalar(text("SELECT user_id FROM join_requests WHERE team_id = :a"), {"a": alpha.id})
    async with harness.rt.sessions() as db, db.begin():
        await act_for(db, user_id=asker)
        assert await rows(db, "join_requests") == [alpha.id]
        assert await rows(db, "join_links") == []  # the link itself is the team's
    async with harness.rt.sessions() as db, db.begin():
        await act_for(db, user_id=alpha.owner.id)
        assert await rows(db, "join_requests") == []


async def test_with_nothing_set_no_row_at_all_is_seen(harness, teams):
    async with harness.rt.sessions() as db, db.begin():
        for table in [*TEAM_TABLES, *USER_TABLES, *SERVER_KEY_TABLES]:
            assert await rows(db, table, "1") == [], table
        assert await rows(db, "teams", "id") == []


INSERTS = {
    "teams": "INSERT INTO teams (id, name, created_at) VALUES (CAST(:new AS varchar), 'x', now())",
    "tasks": "INSERT INTO tasks (id, team_id, title, description, created_at) VALUES (CAST(:new AS varchar), :b, 'x', '', now())",
    "memberships": "INSERT INTO memberships (team_id, user_id, role, is_owner, created_at) "
                   "VALUES (:b, :user, 'admin', false, now())",
    "api_keys": "INSERT INTO api_keys (id, team_id, name, role, prefix, secret_hash, created_at) "
                "VALUES (CAST(:new AS varchar), :b, 'x', 'admin', 'tgk_', sha256(convert_to(CAST(:new AS text), 'UTF8')), now())",
    "audit_events": "INSERT INTO audit_events (id, team_id, actor_type, action, data, created_at) "
                    "VALUES (CAST(:new AS varchar), :b, 'system', 'x', '{}', now())",
    "invitations": "INSERT INTO invitations (id, team_id, email, email_normalized, role, task_ids, token_hash, status, "
                   "expires_at, lifetime_seconds, inviter_name, created_at, send_count, delivery_status, "
                   "delivery_attempts) VALUES (CAST(:new AS varchar), :b, 'x@x.io', 'x@x.io', 'admin', '[]', sha256(convert_to(CAST(:new AS text), 'UTF8')), "
                   "'pending', now() + interval '1 day', 86400, 'x', now(), 0, 'skipped', 0)",
    "outbox_messages": "INSERT INTO outbox_messages (id, team_id, kind, recipient, subject, status, attempts, "
                       "next_attempt_at, created_at) VALUES (CAST(:new AS varchar), :b, 'x', 'x@x.io', 'x', 'queued', 0, now(), now())",
    "join_links": "INSERT INTO join_links (id, team_id, role, token_hash, uses, expires_at, allowed_domains, "
                  "requires_approval, creator_name, created_at) VALUES (CAST(:new AS varchar), :b, 'admin', "
                  "sha256(convert_to(CAST(:new AS text), 'UTF8')), 0, now() + interval '1 day', '[]', false, 'x', now())",
    "join_requests": "INSERT INTO join_requests (id, team_id, join_link_id, user_id, email, first_name, last_name, "
                     "role, status, created_at) SELECT CAST(:new AS varchar), :b, id, :user, 'x@x.io', 'x', 'x', "
                     "'admin', 'pending', now() FROM join_links LIMIT 1",
    "idempotency_keys": "INSERT INTO idempotency_keys (id, caller, team_id, key_hash, fingerprint, status_code, "
                        "media_type, response, created_at, expires_at) VALUES (CAST(:new AS varchar), 'api_key:x', :b, "
                        "'\\x00', '\\x00', 201, 'application/json', '\\x00', now(), now() + interval '1 day')",
    "webhook_endpoints": "INSERT INTO webhook_endpoints (id, team_id, url, description, events, secret, created_at) "
                         "VALUES (CAST(:new AS varchar), :b, 'https://x.io', '', '[]', '\\x00', now())",
}


@pytest.mark.parametrize("table", sorted(INSERTS))
async def test_inserting_a_row_for_team_b_while_team_a_is_set_fails(harness, teams, table):
    alpha, beta = teams
    with pytest.raises(DBAPIError, match="row-level security"):
        async with harness.rt.sessions() as db, db.begin():
            await act_for(db, team_id=alpha.id, user_id=alpha.owner.id)
            await db.execute(text(INSERTS[table]), {"new": new_id("x"), "b": beta.id, "user": alpha.owner.id})


async def test_updates_cannot_reach_or_move_rows_into_another_team(harness, teams):
    alpha, beta = teams
    async with harness.rt.sessions() as db, db.begin():
        await act_for(db, team_id=alpha.id)
        hidden = await db.execute(text("UPDATE tasks SET title = 'hijacked' WHERE team_id = :b"), {"b": beta.id})
        assert hidden.rowcount == 0
    with pytest.raises(DBAPIError, match="row-level security"):
        async with harness.rt.sessions() as db, db.begin():
            await act_for(db, team_id=alpha.id)
            await db.execute(text("UPDATE invitations SET team_id = :b"), {"b": beta.id})
    async with harness.owner() as db:
        assert await db.scalar(text("SELECT title FROM tasks WHERE team_id = :b"), {"b": beta.id}) == "Beta task"
        assert set(await rows(db, "invitations")) == {alpha.id, beta.id}


async def test_one_pooled_connection_used_for_team_a_then_team_b_leaks_nothing(harness, teams, settings):
    alpha, beta = teams
    engine = create_async_engine(settings.database, pool_size=1, max_overflow=0)
    try:
        seen, backends = [], set()
        for team_id in (alpha.id, beta.id, None):
            async with engine.connect() as conn, conn.begin():
                backends.add(await conn.scalar(text("SELECT pg_backend_pid()")))
                if team_id:
                    await conn.execute(text("SELECT set_config('teamgate.team_id', :t, true)"), {"t": team_id})
                seen.append(set(await conn.scalars(text("SELECT team_id FROM invitations"))))
        assert len(backends) == 1  # one and the same connection each time
        assert seen == [{alpha.id}, {beta.id}, set()]
    finally:
        await engine.dispose()


async def test_every_table_with_team_or_user_rows_has_forced_rls_and_policies(harness):
    """The catalog check: a new table without row-level security breaks the build."""
    async with harness.owner() as db:
        found = (await db.execute(text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "       (SELECT count(*) FROM pg_policies p WHERE p.schemaname = 'public' AND p.tablename = c.relname) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'"))).all()
    tables = {name: (enabled, forced, policies) for name, enabled, forced, policies in found}
    assert set(TEAM_TABLES) | set(USER_TABLES) | set(SERVER_KEY_TABLES) | {"teams"} | INSTALLATION_TABLES | GLOBAL_TABLES == set(tables)
    for name, (enabled, forced, policies) in tables.items():
        if name not in GLOBAL_TABLES:
            assert enabled and forced and policies > 0, f"{name} lacks enabled and forced row-level security"


async def test_cross_team_lookups_are_definer_functions_with_a_pinned_search_path(harness):
    async with harness.owner() as db:
        found = (await db.execute(text(
            "SELECT proname, prosecdef, proconfig, has_function_privilege('public', p.oid, 'EXECUTE') "
            "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND proname LIKE 'teamgate\\_%' AND prosecdef"))).all()
    from teamgate.storage.roles import DEFINER_FUNCTIONS

    assert sorted(name for name, *_ in found) == sorted(f.split("(")[0] for f in DEFINER_FUNCTIONS)
    for name, definer, config, public_can_run in found:
        assert definer and any(c.startswith("search_path=") for c in config or []), name
        assert not public_can_run, f"{name} is executable by PUBLIC"


async def test_the_service_role_cannot_bypass_the_wall(harness):
    async with harness.owner() as db:
        row = (await db.execute(text(
            "SELECT rolsuper, rolbypassrls, EXISTS (SELECT 1 FROM pg_tables WHERE tableowner = rolname) "
            "FROM pg_roles WHERE rolname = :r"), {"r": harness.rt.settings.database.split("//")[1].split("@")[0]})).one()
    assert tuple(row) == (False, False, False)
    await refuse_privileged_role(harness.rt.engine)  # the service's own check passes


async def test_the_service_refuses_to_run_as_a_superuser(harness, settings):
    engine = create_async_engine(settings.migration_database)
    try:
        with pytest.raises(UnsafeRole, match="superuser.*TEAMGATE_MIGRATION_DATABASE_URL"):
            await refuse_privileged_role(engine)
    finally:
        await engine.dispose()
