"""The OpenID Connect provider's services, directly, on both engines: codes and refresh tokens
are single use even under concurrency, reuse ends the grant, signing keys rotate and retire on
the clock, consent is remembered, and upkeep purges what no token needs."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from teamgate.domain import oidc as rules
from teamgate.domain.tokens import new_token
from teamgate.services import oauth_grants, oidc_clients, oidc_keys, upkeep
from teamgate.services.context import Actor
from teamgate.storage.db import unit_of_work
from teamgate.storage.models import OAuthGrant, OAuthRefreshToken, OidcClient, OidcSigningKey, User
from teamgate.storage.scope import act_for
from tests.factories import make_team


async def client(harness, first_party: bool = True) -> OidcClient:
    async with harness.owner() as db:
        issued = await oidc_clients.create(db, harness.rt, Actor.system(), name="App", first_party=first_party,
                                           redirect_uris=["https://app.example/cb"])
    return issued.client


async def started(harness, who, app: OidcClient) -> str:
    """A grant as an authorization leaves it; returns its code."""
    code = new_token()
    async with unit_of_work(harness.rt.sessions) as db:
        await act_for(db, user_id=who.id)
        user = await db.get(User, who.id)
        await oauth_grants.start(db, harness.rt, code=code, client=app, user=user, auth_time=harness.rt.clock.now(),
                                 redirect_uri="https://app.example/cb", scope="openid offline_access", nonce=None,
                                 code_challenge=None, code_challenge_method=None, team_id=None)
    return code


async def redeem(harness, code: str, app: OidcClient):
    async with unit_of_work(harness.rt.sessions) as db:
        return await oauth_grants.redeem_code(db, harness.rt, code, app)


class TestSingleUse:
    async def test_of_two_concurrent_exchanges_of_one_code_exactly_one_gets_the_grant(self, harness):
        team = await make_team(harness.rt)
        app = await client(harness)
        for _ in range(5):
            code = await started(harness, team.owner, app)
            results = await asyncio.gather(redeem(harness, code, app), redeem(harness, code, app))
            assert sum(r is not None for r in results) == 1

    async def test_a_code_presented_again_revokes_its_grant(self, harness):
        team = await make_team(harness.rt)
        app = await client(harness)
        code = await started(harness, team.owner, app)
        grant = await redeem(harness, code, app)
        assert grant is not None and await redeem(harness, code, app) is None
        async with harness.owner() as db:
            assert (await db.get(OAuthGrant, grant.id)).revoked_at is not None

    async def test_an_expired_code_gives_nothing(self, harness):
        team = await make_team(harness.rt)
        app = await client(harness)
        code = await started(harness, team.owner, app)
        harness.clock.advance(seconds=rules.CODE_LIFETIME.total_seconds() + 1)
        assert await redeem(harness, code, app) is None

    async def test_a_refresh_token_presented_twice_revokes_the_chain(self, harness):
        team = await make_team(harness.rt)
        app = await client(harness)
        grant = await redeem(harness, await started(harness, team.owner, app), app)
        first = new_token()
        async with unit_of_work(harness.rt.sessions) as db:
            await oauth_grants.keep_refresh_token(db, harness.rt, first, grant_id=grant.id, user_id=team.owner.id)

        async def use(token):
            async with unit_of_work(harness.rt.sessions) as db:
                return await oauth_grants.redeem_refresh_token(db, harness.rt, token, app)

        results = await asyncio.gather(use(first), use(first))
        assert sum(r is not None for r in results) == 1
        async with harness.owner() as db:
            assert (await db.get(OAuthGrant, grant.id)).revoked_at is not None


class TestKeys:
    async def test_the_first_key_is_made_on_first_need_and_its_private_half_is_sealed(self, harness):
        async with unit_of_work(harness.rt.sessions) as db:
            key = await oidc_keys.signing_key(db, harness.rt)
        async with harness.owner() as db:
            row = await db.scalar(select(OidcSigningKey))
        assert row.id == key.kid and row.active and b'"d"' not in row.private_key and "d" not in row.public_jwk
        assert key.as_dict(private=True)["d"]

    async def test_a_retired_key_is_published_until_its_tokens_have_expired(self, harness):
        async with unit_of_work(harness.rt.sessions) as db:
            old = (await oidc_keys.signing_key(db, harness.rt)).kid
        async with harness.owner() as db:
            new = (await oidc_keys.rotate(db, harness.rt)).id
        async with unit_of_work(harness.rt.sessions) as db:
            assert (await oidc_keys.signing_key(db, harness.rt)).kid == new
            assert {k.kid for k in (await oidc_keys.published(db, harness.rt)).keys} == {old, new}
        harness.clock.advance(seconds=rules.KEY_OVERLAP.total_seconds() + 1)
        async with unit_of_work(harness.rt.sessions) as db:
            assert {k.kid for k in (await oidc_keys.published(db, harness.rt)).keys} == {new}

    async def test_two_first_needs_at_once_leave_one_active_key(self, harness):
        async def need():
            async with unit_of_work(harness.rt.sessions) as db:
                return (await oidc_keys.signing_key(db, harness.rt)).kid

        kids = await asyncio.gather(need(), need())
        async with harness.owner() as db:
            assert await db.scalar(select(func.count()).select_from(OidcSigningKey).where(OidcSigningKey.active)) == 1
        assert kids[0] == kids[1]


class TestConsent:
    async def test_a_client_that_is_not_first_party_asks_until_the_scopes_were_granted(self, harness):
        team = await make_team(harness.rt)
        app = await client(harness, first_party=False)
        async with unit_of_work(harness.rt.sessions) as db:
            await act_for(db, user_id=team.owner.id)
            user = await db.get(User, team.owner.id)
            assert await oauth_grants.needs_consent(db, user, app, ["openid", "email"])
            await oauth_grants.remember_consent(db, harness.rt, user, app, ["openid", "email"])
            assert not await oauth_grants.needs_consent(db, user, app, ["openid"])
            assert await oauth_grants.needs_consent(db, user, app, ["openid", "teams"])


async def test_upkeep_purges_spent_grants_and_ended_refresh_tokens_and_keeps_live_ones(harness):
    team = await make_team(harness.rt)
    app = await client(harness)
    now = harness.rt.clock.now()
    harness.clock.current = now - timedelta(days=40)  # made long ago (the database's clock bounds the purge)
    spent = await redeem(harness, await started(harness, team.owner, app), app)
    kept = await redeem(harness, await started(harness, team.owner, app), app)
    async with unit_of_work(harness.rt.sessions) as db:
        await oauth_grants.keep_refresh_token(db, harness.rt, new_token(), grant_id=spent.id, user_id=team.owner.id)
    harness.clock.current = now - timedelta(days=2)
    async with unit_of_work(harness.rt.sessions) as db:
        await oauth_grants.keep_refresh_token(db, harness.rt, new_token(), grant_id=kept.id, user_id=team.owner.id)
    harness.clock.current = now
    async with unit_of_work(harness.rt.sessions) as db:
        assert await upkeep.purge_grants(db, harness.rt) == 2  # the old refresh token, then its grant
    async with harness.owner() as db:
        assert list(await db.scalars(select(OAuthGrant.id))) == [kept.id]
        assert await db.scalar(select(func.count()).select_from(OAuthRefreshToken)) == 1
