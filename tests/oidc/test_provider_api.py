"""The provider through the app on both engines (SQLite, and PostgreSQL as the unprivileged
service role under row-level security): a whole sign-in with Authlib's async client, the admin
API for system owners, invitations that continue into a product, and an account taken over
ending the grants of whoever held it."""

from __future__ import annotations

import html
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from teamgate.domain.ids import new_id
from teamgate.services import oidc_clients
from teamgate.services.context import Actor
from teamgate.storage.models import OAuthGrant, OidcClient
from tests.factories import (
    PASSWORD,
    dump_database,
    invite,
    key_headers,
    make_api_key,
    make_team,
    make_user,
    problem,
    sign_in,
)
from tests.recovery_helpers import ask_reset, confirm_reset, mailed_tokens

BASE = "http://127.0.0.1:8000"
CALLBACK = "https://app.example/callback"


async def register(harness, **options) -> dict:
    async with harness.owner() as db:
        issued = await oidc_clients.create(db, harness.rt, Actor.system(), name=options.pop("name", "App"),
                                           redirect_uris=options.pop("redirect_uris", [CALLBACK]), **options)
    return {"clientId": issued.client.client_id, "clientSecret": issued.secret, "id": issued.client.id}


def fields(page: str) -> dict[str, str]:
    return {html.unescape(n): html.unescape(v)
            for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}


async def code_for(harness, browser: httpx.AsyncClient, rp: AsyncOAuth2Client, person, **params) -> tuple[str, str]:
    """Authorization through the /login form over the app; returns (code, verifier)."""
    verifier = secrets.token_urlsafe(48)
    uri, state = rp.create_authorization_url(f"{BASE}/oauth/authorize", code_verifier=verifier, **params)
    answer = await browser.get(uri)
    if answer.status_code == 303 and answer.headers["location"].startswith("/login"):
        login = await browser.get(answer.headers["location"])
        posted = await browser.post("/login", data={**fields(login.text), "email": person.email,
                                                    "password": person.password})
        answer = await browser.get(posted.headers["location"])
    assert answer.status_code == 302, answer.text[:300]
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["state"] == [state]
    return query["code"][0], verifier


def relying_party(harness, client: dict, scope="openid profile email teams offline_access") -> AsyncOAuth2Client:
    return AsyncOAuth2Client(client["clientId"], client["clientSecret"], scope=scope, redirect_uri=CALLBACK,
                             code_challenge_method="S256", transport=httpx.ASGITransport(app=harness.app),
                             base_url=BASE)


async def test_a_whole_sign_in_refresh_and_revocation_through_the_app(harness):
    team = await make_team(harness.rt, "olivia@example.com")
    client = await register(harness, first_party=True)
    rp = relying_party(harness, client)
    code, verifier = await code_for(harness, harness.client(), rp, team.owner, team=team.id)
    token = await rp.fetch_token(f"{BASE}/oauth/token", code=code, code_verifier=verifier)
    me = (await rp.get(f"{BASE}/oauth/userinfo")).json()
    assert me["sub"] == team.owner.id and me["team_id"] == team.id and me["teams"][0]["role"] == "owner"
    refreshed = await rp.refresh_token(f"{BASE}/oauth/token", refresh_token=token["refresh_token"])
    with pytest.raises(OAuthError, match="invalid_grant"):
        await rp.refresh_token(f"{BASE}/oauth/token", refresh_token=token["refresh_token"])
    with pytest.raises(OAuthError, match="invalid_grant"):
        await rp.refresh_token(f"{BASE}/oauth/token", refresh_token=refreshed["refresh_token"])
    async with harness.owner() as db:
        assert await db.scalar(select(OAuthGrant.revoked_at)) is not None  # the whole chain was revoked
    await rp.aclose()


async def test_codes_and_refresh_tokens_are_stored_only_as_hashes(harness):
    team = await make_team(harness.rt, "olivia@example.com")
    client = await register(harness, first_party=True)
    rp = relying_party(harness, client)
    code, verifier = await code_for(harness, harness.client(), rp, team.owner)
    token = await rp.fetch_token(f"{BASE}/oauth/token", code=code, code_verifier=verifier)
    stored = await dump_database(harness)
    for secret in (code, token["refresh_token"], client["clientSecret"]):
        assert secret.encode() not in stored
    await rp.aclose()


class TestAdminApi:
    async def test_a_system_owner_registers_lists_and_deletes_clients(self, harness):
        boss = await make_user(harness.rt, "root@example.com", system_owner=True)
        browser = harness.client()
        csrf = await sign_in(browser, boss)
        made = await browser.post("/api/v1/oidc-clients", headers=csrf, json={
            "name": "Acme App", "redirectUris": [CALLBACK], "firstParty": True,
            "postLogoutRedirectUris": ["https://app.example/bye"]})
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["clientSecret"].startswith("tgcs_") and body["clientId"].startswith("tgc_")
        assert body["firstParty"] is True and body["public"] is False
        public = await browser.post("/api/v1/oidc-clients", headers=csrf, json={
            "name": "Acme SPA", "redirectUris": ["http://localhost:5173/callback"], "public": True})
        assert public.status_code == 201 and public.json()["clientSecret"] is None
        listed = (await browser.get("/api/v1/oidc-clients")).json()["data"]
        assert {c["name"] for c in listed} == {"Acme App", "Acme SPA"}
        assert all("clientSecret" not in c for c in listed)
        assert (await browser.delete(f"/api/v1/oidc-clients/{body['id']}", headers=csrf)).status_code == 204
        problem(await browser.delete(f"/api/v1/oidc-clients/{body['id']}", headers=csrf), 404, "not_found")

    @pytest.mark.parametrize("uri", ["http://app.example/callback", "https://app.example/cb#frag",
                                     "https://*.example/cb", "https://user:pw@app.example/cb", "app.example/cb",
                                     "javascript:alert(1)"])
    async def test_a_redirect_uri_that_could_be_abused_is_refused(self, harness, uri):
        boss = await make_user(harness.rt, "root@example.com", system_owner=True)
        browser = harness.client()
        csrf = await sign_in(browser, boss)
        refused = await browser.post("/api/v1/oidc-clients", headers=csrf, json={"name": "X", "redirectUris": [uri]})
        assert problem(refused, 422, "validation_error")["errors"][0]["field"] == "redirectUris"

    async def test_a_team_owner_who_is_not_a_system_owner_is_refused(self, harness):
        team = await make_team(harness.rt)
        browser = harness.client()
        csrf = await sign_in(browser, team.owner)
        problem(await browser.post("/api/v1/oidc-clients", headers=csrf,
                                   json={"name": "X", "redirectUris": [CALLBACK]}), 403, "forbidden")


class TestInvitationsIntoAProduct:
    async def test_redirect_url_on_a_registered_clients_origin_is_kept_and_shown(self, harness):
        await register(harness)
        team = await make_team(harness.rt)
        key = await make_api_key(harness.rt, team.id)
        made = await invite(harness.client(), key, "nia@example.com", redirectUrl="https://app.example/welcome?x=1")
        assert made["redirectUrl"] == "https://app.example/welcome?x=1"

    @pytest.mark.parametrize("url", ["https://attacker.example/welcome", "http://app.example/welcome",
                                     "https://app.example.attacker.example/", "//app.example/x"])
    async def test_redirect_url_elsewhere_is_refused(self, harness, url):
        await register(harness)
        team = await make_team(harness.rt)
        key = await make_api_key(harness.rt, team.id)
        refused = await harness.client().post("/api/v1/team-invitations", headers=key_headers(key),
                                              json={"email": "nia@example.com", "role": "member", "redirectUrl": url})
        assert problem(refused, 422, "validation_error")["errors"][0]["field"] == "redirectUrl"

    async def test_an_allowed_origin_setting_admits_other_origins(self, harness_with):
        h = await harness_with(allowed_redirect_origins=["https://portal.example"])
        team = await make_team(h.rt)
        key = await make_api_key(h.rt, team.id)
        made = await invite(h.client(), key, "nia@example.com", redirectUrl="https://portal.example/start")
        assert made["redirectUrl"] == "https://portal.example/start"

    async def test_accepting_on_the_invite_page_continues_at_the_redirect_url(self, harness):
        await register(harness)
        team = await make_team(harness.rt)
        key = await make_api_key(harness.rt, team.id)
        made = await invite(harness.client(), key, "nia@example.com", redirectUrl="https://app.example/welcome")
        browser = harness.client()
        page = await browser.get(f"/invite?token={made['token']}")
        assert "form-action 'self' https://app.example;" in page.headers["content-security-policy"]
        accepted = await browser.post("/invite/accept", data={
            **fields(page.text), "token": made["token"], "first_name": "Nia", "last_name": "New",
            "password": "nia's own long passphrase"})
        assert accepted.status_code == 303 and accepted.headers["location"] == "https://app.example/welcome"
        assert "teamgate_session" in accepted.cookies


async def test_an_account_taken_over_by_its_mailbox_ends_the_grants_of_whoever_held_it(harness):
    squatter = await make_user(harness.rt, "victim@example.com", password=PASSWORD)
    client = await register(harness, first_party=True)
    rp = relying_party(harness, client)
    code, verifier = await code_for(harness, harness.client(), rp, squatter)
    token = await rp.fetch_token(f"{BASE}/oauth/token", code=code, code_verifier=verifier)
    await harness.send_mail()  # (the squatter's verification email, never used)
    await ask_reset(harness.client(), "victim@example.com")
    (reset_token,) = await mailed_tokens(harness, to="victim@example.com")
    assert (await confirm_reset(harness.client(), reset_token, "the real owner's passphrase")).status_code == 200
    with pytest.raises(OAuthError, match="invalid_grant"):
        await rp.refresh_token(f"{BASE}/oauth/token", refresh_token=token["refresh_token"])
    assert (await rp.get(f"{BASE}/oauth/userinfo")).status_code == 401
    await rp.aclose()


@pytest.mark.postgres_only
async def test_the_service_role_cannot_add_a_client_outside_a_system_owners_transaction(harness):
    with pytest.raises(DBAPIError, match="row-level security"):
        async with harness.rt.sessions() as db, db.begin():
            db.add(OidcClient(id=new_id("oidc"), client_id="tgc_x", name="x", secret_hash=None, first_party=True,
                              redirect_uris=[CALLBACK], post_logout_redirect_uris=[],
                              created_at=harness.rt.clock.now()))
            await db.flush()
