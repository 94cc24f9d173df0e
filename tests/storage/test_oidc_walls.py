"""The OpenID Connect provider's tables as the service's role sees them with raw SQL that skips
the data layer (as test_row_level_security.py does): a person's grants, refresh tokens and
consents are theirs alone; signing keys can be added but never changed or deleted; clients are
readable by all and made or deleted only in a system owner's transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from teamgate.domain.tokens import hash_token, new_token
from teamgate.services import oauth_grants, oidc_clients, oidc_keys
from teamgate.services.context import Actor
from teamgate.storage.db import unit_of_work
from teamgate.storage.models import User
from teamgate.storage.scope import act_for
from tests.factories import make_team, make_user
from tests.services.test_oidc import client, redeem, started

pytestmark = pytest.mark.postgres_only


async def as_service(harness, sql: str, params: dict | None = None, *, user_id: str | None = None) -> list:
    async with harness.rt.sessions() as db, db.begin():
        if user_id:
            await act_for(db, user_id=user_id)
        result = await db.execute(text(sql), params or {})
        return result.all() if result.returns_rows else [result.rowcount]


async def test_a_persons_grants_refresh_tokens_and_consents_are_seen_only_in_their_own_transaction(harness):
    alpha, beta = await make_team(harness.rt, "a@example.com"), await make_team(harness.rt, "b@example.com", name="B")
    app = await client(harness, first_party=False)
    grant = await redeem(harness, await started(harness, alpha.owner, app), app)
    async with unit_of_work(harness.rt.sessions) as db:
        await oauth_grants.keep_refresh_token(db, harness.rt, new_token(), grant_id=grant.id, user_id=alpha.owner.id)
        await act_for(db, user_id=alpha.owner.id)
        await oauth_grants.remember_consent(db, harness.rt, await db.get(User, alpha.owner.id), app, ["openid"])
    for table in ("oauth_grants", "oauth_refresh_tokens", "oauth_consents"):
        assert await as_service(harness, f"SELECT user_id FROM {table}", user_id=alpha.owner.id) == [
            (alpha.owner.id,)], table
        assert await as_service(harness, f"SELECT user_id FROM {table}", user_id=beta.owner.id) == [], table
        assert await as_service(harness, f"SELECT user_id FROM {table}") == [], table
    assert await as_service(harness, "UPDATE oauth_grants SET revoked_at = now()", user_id=beta.owner.id) == [0]


async def test_signing_keys_are_added_but_never_changed_or_deleted_by_the_service(harness):
    async with unit_of_work(harness.rt.sessions) as db:
        await oidc_keys.signing_key(db, harness.rt)
    for statement in ("UPDATE oidc_signing_keys SET active = false", "DELETE FROM oidc_signing_keys"):
        with pytest.raises(DBAPIError, match="permission denied"):
            await as_service(harness, statement)


async def test_clients_are_read_by_all_and_changed_only_as_a_system_owner(harness):
    team = await make_team(harness.rt)
    app = await client(harness)
    assert await as_service(harness, "SELECT client_id FROM oidc_clients") == [(app.client_id,)]
    with pytest.raises(DBAPIError, match="permission denied"):
        await as_service(harness, "UPDATE oidc_clients SET redirect_uris = '[\"https://attacker.example/\"]'")
    assert await as_service(harness, "DELETE FROM oidc_clients", user_id=team.owner.id) == [0]  # not a system owner
    boss = await make_user(harness.rt, "root@example.com", system_owner=True)
    async with unit_of_work(harness.rt.sessions) as db:
        await act_for(db, user_id=boss.id)
        actor = Actor(kind="user", id=boss.id, name="Root", user=await db.get(User, boss.id))
        await oidc_clients.delete(db, harness.rt, actor, app.id)
    assert await as_service(harness, "SELECT client_id FROM oidc_clients") == []


async def test_the_code_and_refresh_token_lookups_return_only_a_rows_id_and_user(harness):
    team = await make_team(harness.rt)
    app = await client(harness)
    code = await started(harness, team.owner, app)
    found = await as_service(harness, "SELECT * FROM teamgate_oauth_grant_by_code(:h)", {"h": hash_token(code)})
    assert len(found) == 1 and len(found[0]) == 2 and found[0][1] == team.owner.id
    assert await as_service(harness, "SELECT * FROM teamgate_oauth_grant_by_code(:h)", {"h": hash_token("x")}) == []
