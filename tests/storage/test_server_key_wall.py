"""Server keys behind the second wall (PostgreSQL): a key that acts across teams still runs each
request scoped to the one team it acts in; a transaction sees only the server key it authenticated
with; and the service role can neither make a server key nor change one but for its last use."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from teamgate.services import server_keys
from teamgate.services.context import Actor
from teamgate.storage.db import unit_of_work
from tests.factories import invite, issue_server_key, make_api_key, make_team

pytestmark = pytest.mark.postgres_only


async def as_service(harness, sql: str, params: dict | None = None, **scope: str) -> list:
    async with harness.rt.sessions() as db, db.begin():
        for name, value in scope.items():
            await db.execute(text("SELECT set_config(:n, :v, true)"), {"n": f"teamgate.{name}", "v": value})
        return (await db.execute(text(sql), params or {})).all()


async def test_a_request_acting_in_team_a_sees_only_team_as_rows_through_any_query(harness):
    rt = harness.rt
    alpha = await make_team(rt, "a@example.com", name="Alpha", owner_external_id="u-a")
    beta = await make_team(rt, "b@example.com", name="Beta", owner_external_id="u-b")
    for team in (alpha, beta):
        await invite(harness.client(), await make_api_key(rt, team.id), f"invitee{team.id[-4:].lower()}@example.com")
    issued = await issue_server_key(rt)
    async with unit_of_work(rt.sessions) as db:
        key = await server_keys.authenticate(db, rt, issued.secret)
        assert key is not None
        ctx = await server_keys.acting_context(db, rt, Actor(kind="server_key", id=key.id, name=key.name,
                                                             server_key=key), team_id=alpha.id, external_id="u-a",
                                               use="GET /test")
        assert ctx.team_id == alpha.id
        for table in ("invitations", "memberships", "api_keys", "audit_events"):  # no filter: the wall alone
            assert set(await db.scalars(text(f"SELECT team_id FROM {table}"))) == {alpha.id}, table
        assert list(await db.scalars(text("SELECT id FROM teams"))) == [alpha.id]
        assert list(await db.scalars(text("SELECT id FROM server_keys"))) == [key.id]


async def test_a_transaction_sees_only_the_server_key_it_authenticated_with(harness):
    one, two = await issue_server_key(harness.rt, name="one"), await issue_server_key(harness.rt, name="two")
    assert await as_service(harness, "SELECT id FROM server_keys") == []
    seen = await as_service(harness, "SELECT id FROM server_keys", server_key_id=one.server_key.id)
    assert [r[0] for r in seen] == [one.server_key.id]
    found = await as_service(harness, "SELECT id FROM teamgate_server_key_by_hash(:h)",
                             {"h": two.server_key.secret_hash})
    assert [r[0] for r in found] == [two.server_key.id]  # the lookup gives an id, and nothing else


async def test_the_service_role_cannot_make_or_change_a_server_key(harness):
    issued = await issue_server_key(harness.rt)
    key_id = issued.server_key.id
    with pytest.raises(DBAPIError, match="permission denied"):
        await as_service(harness, "INSERT INTO server_keys (id, name, prefix, secret_hash, created_at) VALUES "
                                  "('srv_minted', 'mine', 'tgs_', sha256('x'), now())", server_key_id="srv_minted")
    for change in ("revoked_at = NULL", "secret_hash = sha256('x')", "name = 'renamed'"):
        with pytest.raises(DBAPIError, match="permission denied"):
            await as_service(harness, f"UPDATE server_keys SET {change} WHERE id = :k", {"k": key_id},
                             server_key_id=key_id)
    with pytest.raises(DBAPIError, match="permission denied"):
        await as_service(harness, "DELETE FROM server_keys WHERE id = :k", {"k": key_id}, server_key_id=key_id)
    touched = await as_service(harness, "UPDATE server_keys SET last_used_at = now() WHERE id = :k RETURNING id",
                               {"k": key_id}, server_key_id=key_id)
    assert [r[0] for r in touched] == [key_id]


async def test_the_lookup_by_external_id_gives_one_id_and_scopes_nothing(harness):
    team = await make_team(harness.rt, owner_external_id="u-olivia")
    found = await as_service(harness, "SELECT * FROM teamgate_user_by_external_id(:x)", {"x": "u-olivia"})
    assert found == [(team.owner.id,)]
    assert await as_service(harness, "SELECT * FROM teamgate_user_by_external_id(:x)", {"x": "u-%"}) == []
    assert await as_service(harness, "SELECT id FROM users") == []  # finding an id shows no row
